import { expect } from 'chai';
import { bisect, nextStep, type Oracle, type Verdict } from './bisect-search';

/** Commits c1..cN after GOOD g; BAD is the last one. */
const commits = (n: number): string[] => Array.from({ length: n }, (_, i) => `c${i + 1}`);

/** An oracle for a history whose first bad commit is `firstBad` (g is GOOD), skipping `skip`, counting its calls. */
function historyOracle(list: string[], firstBad: string, skip: string[] = []): Oracle<undefined> & { calls: string[] } {
  const calls: string[] = [];
  const at = list.indexOf(firstBad);
  const fn = async (rev: string): Promise<{ verdict: Verdict }> => {
    calls.push(rev);
    if (skip.includes(rev)) return { verdict: 'skip' };
    const i = rev === 'g' ? -1 : list.indexOf(rev);
    return { verdict: i >= at ? 'bad' : 'good' };
  };
  return Object.assign(fn, { calls });
}

describe('bisect search', () => {
  it('names the first bad commit wherever it is, in about log2(N) judgements after the two ends', async () => {
    for (const n of [1, 2, 3, 7, 8, 16]) {
      const list = commits(n);
      for (const firstBad of list) {
        const oracle = historyOracle(list, firstBad);
        const out = await bisect({ good: 'g', bad: list[n - 1]!, candidates: list }, oracle);
        expect(out.kind, `${n} commits, first bad ${firstBad}`).to.equal('found');
        if (out.kind !== 'found') continue;
        expect(out.firstBad).to.equal(firstBad);
        const i = list.indexOf(firstBad);
        expect(out.lastGood).to.equal(i === 0 ? 'g' : list[i - 1]);
        expect(oracle.calls.slice(0, 2)).to.deep.equal(['g', list[n - 1]]);
        // The search proper: never more than ceil(log2(n)) judgements.
        expect(oracle.calls.length - 2, `${n} commits, first bad ${firstBad}`).to.be.at.most(Math.ceil(Math.log2(n)));
      }
    }
  });

  it('a range of one commit needs no search: BAD is the first bad', async () => {
    const oracle = historyOracle(['c1'], 'c1');
    const out = await bisect({ good: 'g', bad: 'c1', candidates: ['c1'] }, oracle);
    expect(out).to.include({ kind: 'found', firstBad: 'c1', lastGood: 'g' });
    expect(oracle.calls).to.deep.equal(['g', 'c1']);
  });

  it('steps round a skipped commit and still names the first bad', async () => {
    const list = commits(8);
    // c4 good, then the middle c6 cannot be judged: c5, beside it, is judged instead.
    const oracle = historyOracle(list, 'c5', ['c6']);
    const out = await bisect({ good: 'g', bad: 'c8', candidates: list }, oracle);
    expect(out).to.include({ kind: 'found', firstBad: 'c5', lastGood: 'c4' });
    expect(out.steps.filter((s) => s.judged.verdict === 'skip').map((s) => s.rev)).to.deep.equal(['c6']);
  });

  it('a skipped commit right before the first bad leaves both as suspects, as git bisect does', async () => {
    const list = commits(8);
    const out = await bisect({ good: 'g', bad: 'c8', candidates: list }, historyOracle(list, 'c5', ['c4']));
    expect(out).to.deep.include({ kind: 'undecided', lastGood: 'c3', suspects: ['c4', 'c5'] });
  });

  it('when only skipped commits are left, says which commits may be the first bad', async () => {
    const list = commits(6);
    const oracle = historyOracle(list, 'c4', ['c2', 'c3']);
    const out = await bisect({ good: 'g', bad: 'c6', candidates: list }, oracle);
    expect(out.kind).to.equal('undecided');
    if (out.kind !== 'undecided') return;
    expect(out.lastGood).to.equal('c1');
    expect(out.suspects).to.deep.equal(['c2', 'c3', 'c4']);
  });

  it('GOOD that is bad, BAD that is good, or an end that cannot be judged: no search', async () => {
    const list = commits(4);
    const allBad: Oracle<undefined> = async () => ({ verdict: 'bad' });
    const allGood: Oracle<undefined> = async () => ({ verdict: 'good' });
    const goodSkips: Oracle<undefined> = async (rev) => ({ verdict: rev === 'g' ? 'skip' : 'bad' });
    expect(await bisect({ good: 'g', bad: 'c4', candidates: list }, allBad)).to.deep.include({ kind: 'good-is-bad', rev: 'g' });
    const bg = await bisect({ good: 'g', bad: 'c4', candidates: list }, allGood);
    expect(bg).to.deep.include({ kind: 'bad-is-good', rev: 'c4' });
    expect(bg.steps.map((s) => s.role)).to.deep.equal(['good-end', 'bad-end']);
    expect(await bisect({ good: 'g', bad: 'c4', candidates: list }, goodSkips)).to.deep.include({ kind: 'end-skipped', rev: 'g' });
  });

  it('the last candidate is not judged again: BAD stands for it (the same vm-images/)', async () => {
    const list = commits(3);
    const oracle = historyOracle(list, 'c3');
    await bisect({ good: 'g', bad: 'HEAD', candidates: list }, oracle);
    expect(oracle.calls).to.not.include('c3');
    expect(oracle.calls.slice(0, 2)).to.deep.equal(['g', 'HEAD']);
  });

  it('an oracle that throws (the harness broke) stops the search: that is not a verdict', async () => {
    const list = commits(8);
    const calls: string[] = [];
    const oracle: Oracle<undefined> = async (rev) => {
      calls.push(rev);
      if (calls.length === 3) throw new Error('the lab bridge is gone');
      return { verdict: rev === 'g' ? 'good' : 'bad' };
    };
    let thrown: unknown;
    await bisect({ good: 'g', bad: 'c8', candidates: list }, oracle).catch((e: unknown) => (thrown = e));
    expect(thrown).to.be.an('error').with.property('message', 'the lab bridge is gone');
    expect(calls).to.have.length(3);
  });

  it('nextStep picks the unjudged candidate nearest the middle of the open range', () => {
    expect(nextStep(8, new Map([[7, 'bad']]))).to.deep.equal({ kind: 'judge', index: 3 });
    expect(nextStep(8, new Map<number, Verdict>([[7, 'bad'], [3, 'good']]))).to.deep.equal({ kind: 'judge', index: 5 });
    expect(nextStep(8, new Map<number, Verdict>([[7, 'bad'], [3, 'skip']]))).to.deep.equal({ kind: 'judge', index: 2 });
    expect(nextStep(2, new Map<number, Verdict>([[1, 'bad'], [0, 'good']]))).to.deep.equal({ kind: 'found', index: 1 });
  });
});

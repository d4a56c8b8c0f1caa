import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImages, cacheDir, execCommand, imageKeys, stateRoot, stepDeadline, budgetMs, hostBudgetMs } from '../harness/index';
import { leftovers, NOTHING } from './support/leftovers';
import { runLab, type CliResult } from './support/lab-cli';
import { commitKeys, DELAY_S, git, plant, type Planted } from './support/planted-history';

/*
 * ./lab bisect on a throwaway repository: the project's vm-images/ as its first commit,
 * then a history with two planted regressions, each found by its own bisect:
 *
 *   c0  the stack as the lab has it                    initramfs K0 (the lab's own: cached)
 *   c1  build.sh: a comment                            K0 (build.sh is in no key)
 *   c2  ltsp-union: the ro root moved to a typo        K2  <- BREAK: the union is never mounted
 *   c3  lib/common.sh: a comment                       K2
 *   c4  revert c2                                      K0
 *   c5  ltsp-union.sh: a comment                       K5  (a real build and boot mid-search)
 *   c6  ltsp-test-delay: union sleeps 20 s by default  K6  <- DELAY
 *   c7  build.sh: a comment                            K6
 *
 * Bisect c0..c3 (default: bad = no login): GOOD boots to login, BAD builds K2 and fails at
 * union; c1 and c2 take the verdicts of the same images (no build, no boot): 2 steps.
 * Bisect c4..c7 with --stage union --budget 12: GOOD boots to union, BAD builds K6 and
 * takes 20 s more there; c5 is built and booted (good), c6 takes c7's verdict: 2 steps.
 * Three initramfs builds and five boots, none to login but one.
 *
 * Why a stage budget and not the gate for the delay: the gate boots a guest-speed probe
 * per lab and judges against the baseline of this host class (inconclusive on another),
 * at least twice the time per revision, and boots again when something looks slower.
 * The union stage took 1.0-2.5 s (+Δ) in these boots and 21.4 s with the planted sleep,
 * which is wall-clock (a busier host does not shrink it): BUDGET_S parts the two with a
 * factor of about two on the slow side and five on the fast one.
 *
 * Each revision builds and serves only the kind it boots (build.sh --kinds): the ltsp
 * client's initramfs is 5-7 s of dracut, where both kinds' took 31 s. The two bisects run
 * at once, their builds taking turns at the cache's lock. Measured here (TCG, 2 cores, CI
 * at aaec825): a boot to login 16-19 s, to union 13-16 s; the file 86 s (187 s before
 * --kinds and the two at once).
 */

/** The union stage's budget in the delay's bisect: well above what it takes, well below DELAY_S (see the top). */
const BUDGET_S = 12;

interface Revision {
  commit: { hash: string; short: string };
  judgement: { verdict: string; reason: string };
  reusedFrom?: { hash: string };
  build?: { steps: Record<string, string>; seconds: number };
  labRun?: string;
  bootSeconds?: number;
}

function bisectJson(r: CliResult): { revisions: Revision[]; outcome: { kind: string; firstBad?: string; lastGood?: string } } {
  const summary = /^summary: (.+)$/m.exec(r.stdout)?.[1];
  expect(summary, `./lab bisect printed no summary path:\n${r.stdout}\n${r.stderr.slice(-3000)}`).to.be.a('string');
  return JSON.parse(readFileSync(join(summary!, '..', 'bisect.json'), 'utf8'));
}

describe('bisect: ./lab bisect names the commit that broke the union module, and the one that slowed it @full', function () {
  let planted: Planted;
  let keys: string[];
  let madeDirs: string[] = [];
  let broke: CliResult;
  let slowed: CliResult;

  before(async function () {
    const d = stepDeadline(hostBudgetMs('revisionImages'), 'plant the throwaway history');
    planted = await plant(d);
    const all = await commitKeys(planted.dir, planted.c, d);
    // c0 must be the lab's own images, or every bisect step would rebuild them all (base included).
    expect(all[0], 'c0\'s image keys are the lab\'s own').to.deep.equal(await imageKeys({ deadline: d }));
    keys = all.map((k) => k.initramfs as string);
    // The initramfs this suite makes (each revision's build makes both kinds'), removed after
    // it: the cache is shared, and only these are ours.
    const dirs = all.flatMap((k) => [`initramfs-${k.initramfs}`, `initramfs-ltsp-${k['initramfs-ltsp']}`]);
    madeDirs = [...new Set(dirs)].filter((d) => !existsSync(join(cacheDir(), d)));
    const { c } = planted;
    // The two bisects at once, as two developers' would run: one guest each (two cores),
    // their builds taking turns at the image cache's lock, each its own labs.
    [broke, slowed] = await Promise.all([
      runLab(['bisect', '--repo', planted.dir, c[0]!, c[3]!], { timeoutMs: hostBudgetMs('bisectRun') }),
      runLab(['bisect', '--repo', planted.dir, '--stage', 'union', '--budget', String(BUDGET_S), c[4]!, c[7]!], { timeoutMs: hostBudgetMs('bisectRun') }),
    ]);
  });

  after(async function () {
    if (planted) rmSync(planted.dir, { recursive: true, force: true });
    for (const d of madeDirs) rmSync(join(cacheDir(), d), { recursive: true, force: true });
    // The cache's manifest is the last build's: the lab's own again, as before the suite.
    await buildImages({ deadline: stepDeadline(budgetMs('imageBuild'), 'warm build to restore the manifest') });
  });

  it('the planted history is what the suite says: keys move only where they should', function () {
    expect(keys[1], 'c1 (build.sh comment) keeps c0\'s images').to.equal(keys[0]);
    expect(keys[3], 'c3 keeps c2\'s').to.equal(keys[2]);
    expect(keys[4], 'the revert brings c0\'s back').to.equal(keys[0]);
    expect(new Set([keys[0], keys[2], keys[5], keys[6]]).size, 'c0, c2, c5, c6 differ').to.equal(4);
    expect(keys[7]).to.equal(keys[6]);
  });

  it('the break: exit 0, c2 named with its subject, GOOD booted to login and BAD failed at union', function () {
    const { c, subjects } = planted;
    expect(broke.code, `./lab bisect exited ${broke.code}:\n${broke.stderr.slice(-4000)}`).to.equal(0);
    expect(broke.stdout).to.include(`first bad commit: ${c[2]} ${subjects[2]}`);
    const j = bisectJson(broke);
    expect(j.outcome).to.include({ kind: 'found', firstBad: c[2], lastGood: c[1] });
    const [good, bad, ...steps] = j.revisions;
    expect(good!.judgement.verdict).to.equal('good');
    expect(bad!.judgement.verdict).to.equal('bad');
    expect(bad!.judgement.reason).to.match(/did not reach login \(failed at union: union-failed: ltsp-union: FAILED: mount --move \S+ \/run\/ltsp-union\/ro failed\)/);
    // BAD's initramfs was built (or, on a rerun before the cleanup, reused); nothing else moved.
    expect(bad!.build?.steps).to.include({ base: 'cached', server: 'cached', root: 'cached' });
    // Both steps took the verdicts of images already judged: no build, no boot, and said so.
    expect(steps.map((s) => [s.commit.hash, s.judgement.verdict, s.reusedFrom?.hash])).to.deep.equal([
      [c[1], 'good', c[0]],
      [c[2], 'bad', c[3]],
    ]);
    expect(broke.stderr).to.match(new RegExp(`same images as ${good!.commit.short} .*GOOD, its verdict reused: no build, no boot`));
    // The module's own failure line is in BAD's console: it failed where the typo is.
    const dir = /report (\S+)\)$/m.exec(broke.stderr.split('\n').filter((l) => l.includes('boot to login: BAD'))[0] ?? '')?.[1];
    expect(dir, 'BAD\'s boot report folder').to.be.a('string');
    expect(readFileSync(join(dir!, 'c1', 'console.log'), 'utf8')).to.match(/ltsp-union: FAILED: mount --move \S+ \/run\/ltsp-union\/ro failed/);
  });

  it('the break: both timelines side by side, and the per-stage differences', function () {
    const { c } = planted;
    const short = (h: string): string => h.slice(0, 7);
    expect(broke.stdout).to.match(new RegExp(`^stage\\s+good ${short(c[1]!)}\\s+\\+Δ\\s+bad ${short(c[2]!)}\\s+\\+Δ$`, 'm'));
    expect(broke.stdout).to.match(/^login prompt\s+[\d.]+\s+\+[\d.]+\s+-\s+-$/m);
    expect(broke.stdout).to.match(new RegExp(`^bad ${short(c[2]!)} FAILED at union`, 'm'));
    expect(broke.stdout).to.match(/against .*: time of each stage since the previous one/);
  });

  it('the delay: exit 0, c6 named; c5 was built and booted mid-search, within the budget', function () {
    const { c, subjects } = planted;
    expect(slowed.code, `./lab bisect exited ${slowed.code}:\n${slowed.stderr.slice(-4000)}`).to.equal(0);
    expect(slowed.stdout).to.include(`first bad commit: ${c[6]} ${subjects[6]}`);
    const j = bisectJson(slowed);
    expect(j.outcome).to.include({ kind: 'found', firstBad: c[6], lastGood: c[5] });
    const [good, bad, ...steps] = j.revisions;
    expect(good!.judgement.verdict).to.equal('good');
    expect(bad!.judgement.reason).to.match(new RegExp(`union took (\\d+\\.\\d) s \\(\\+Δ\\), over the ${BUDGET_S} s budget`));
    const took = Number(/union took (\d+\.\d) s/.exec(bad!.judgement.reason)![1]);
    expect(took, `the planted ${DELAY_S} s are in the stage`).to.be.within(DELAY_S, DELAY_S + BUDGET_S);
    expect(steps.map((s) => [s.commit.hash, s.judgement.verdict, s.reusedFrom?.hash])).to.deep.equal([
      [c[5], 'good', undefined],
      [c[6], 'bad', c[7]],
    ]);
    expect(steps[0]!.build, 'c5 was built and booted').to.be.an('object');
    expect(steps[0]!.judgement.reason).to.match(/union within \d+\.\d s/);
  });

  it('leaves nothing: no lab of any step, no checkout, no temp worktree', async function () {
    for (const r of [broke, slowed]) {
      const j = bisectJson(r);
      const runs = j.revisions.map((x) => x.labRun).filter((x): x is string => x !== undefined);
      expect(runs.length).to.be.greaterThan(0);
      for (const id of runs) expect(await leftovers(id), `lab run ${id}`).to.deep.equal(NOTHING);
    }
    const bisectRuns = [broke, slowed].map((r) => /summary: \S*bisect-([a-z0-9]{6})\//.exec(r.stdout)?.[1]);
    for (const id of bisectRuns) {
      expect(id).to.be.a('string');
      expect(existsSync(join(stateRoot(), id!)), `state folder of bisect ${id} (its checkouts)`).to.equal(false);
    }
    expect(await git(planted.dir, ['worktree', 'list'], stepDeadline(hostBudgetMs('hostCommand'), 'git worktree list'))).to.not.include('\n');
  });
});

describe('bisect: a range it cannot walk is a usage error (exit 2), before anything is built @full', function () {
  let repo: string;
  let c: string[];

  before(async function () {
    const d = stepDeadline(hostBudgetMs('gitHistory'), 'a small repository');
    repo = mkdtempSync(join(tmpdir(), 'ltsp-lab-bisect-usage-'));
    await execCommand('git', ['init', '-q', '-b', 'main', repo], { deadline: d });
    const commit = async (file: string, subject: string): Promise<string> => {
      writeFileSync(join(repo, file), `${subject}\n`);
      await git(repo, ['add', '-A'], d);
      await git(repo, ['-c', 'user.name=lab notebook', '-c', 'user.email=lab@localhost', 'commit', '-q', '-m', subject], d);
      return git(repo, ['rev-parse', 'HEAD'], d);
    };
    await execCommand('mkdir', ['-p', join(repo, 'vm-images')], { deadline: d });
    c = [await commit('vm-images/recipe', 'a recipe'), await commit('NOTES', 'notes only'), await commit('vm-images/recipe', 'the recipe again')];
  });

  after(function () {
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  const cases: { title: string; args: () => string[]; message: RegExp }[] = [
    { title: 'GOOD is not a commit', args: () => ['--repo', repo, 'nosuchcommit', c[2]!], message: /'nosuchcommit' is not a commit in / },
    { title: 'GOOD is not an ancestor of BAD', args: () => ['--repo', repo, c[2]!, c[0]!], message: /GOOD \w+ is not an ancestor of BAD \w+/ },
    { title: 'nothing under vm-images/ changed', args: () => ['--repo', repo, c[0]!, c[1]!], message: /nothing under vm-images\/ changed between \w+ and \w+/ },
    { title: 'the folder is not a git repository', args: () => ['HEAD~1', 'HEAD', '--repo', '/proc'], message: /\/proc is not a git repository/ },
  ];
  for (const k of cases) {
    it(k.title, async function () {
      const r = await runLab(['bisect', ...k.args()], { timeoutMs: hostBudgetMs('labCommand') });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(k.message);
      expect(r.stderr).to.not.match(/bisect: GOOD:/);
    });
  }
});

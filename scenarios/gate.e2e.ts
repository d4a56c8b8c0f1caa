import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { resultsSchemaErrors, testDelayArg, type GateVerdict } from '../harness/index';
import { runLab, type CliResult } from './support/lab-cli';

/*
 * The regression gate against the baseline kept in the repo (fixtures/baselines/): the
 * unchanged stack is not called slower, and a stage slowed on purpose by our dracut
 * module (ltsp.test.delay) is, by name, with exit 6. Each run boots two clients at once,
 * as the baseline's boots ran, and is judged on the median of the two; the unchanged one
 * boots two more only when something looks slower (--retries 1). The runs go one after
 * the other: two labs starting at once lost a client's DHCP here. About 4.5 minutes of TCG.
 */
const DELAY = { stage: 'nbd', seconds: 20 };

/** The verdict the run wrote into its results.json. */
function gateOf(r: CliResult): GateVerdict {
  const html = /^report: (.+)$/m.exec(r.stdout)?.[1];
  expect(html, `./lab boot printed no report path:\n${r.stdout}`).to.be.a('string');
  const results = join(dirname(html!), 'results.json');
  expect(existsSync(results), `${results} exists`).to.equal(true);
  const data = JSON.parse(readFileSync(results, 'utf8')) as { gate?: GateVerdict };
  expect(resultsSchemaErrors(data), `${results} is valid against harness/report/results.schema.json`).to.deep.equal([]);
  const gate = data.gate;
  expect(gate, 'results.json holds the gate verdict').to.be.an('object');
  return gate!;
}

describe('gate: ./lab boot --compare judges boot times against the baseline', function () {
  let plain: CliResult;
  let delayed: CliResult;

  before(async function () {
    plain = await runLab(['boot', '--compare', '--clients', '2', '--retries', '1'], { timeoutMs: 10 * 60_000 });
    delayed = await runLab(['boot', '--compare', '--clients', '2', '--retries', '0', '--append', testDelayArg([DELAY])], { timeoutMs: 10 * 60_000 });
    if (/no baseline for profile/.test(plain.stdout + delayed.stdout)) {
      // Another host class (e.g. KVM, or more cores): the gate is inconclusive there by design.
      this.skip();
    }
  });

  it('the unchanged stack is not a regression: exit 0, pass or inconclusive with a reason', function () {
    expect(plain.code, `./lab boot --compare exited ${plain.code}:\n${plain.stderr.slice(-3000)}`).to.equal(0);
    const gate = gateOf(plain);
    expect(gate.verdict).to.be.oneOf(['pass', 'inconclusive']);
    expect(gate.reason).to.be.a('string').and.not.equal('');
    expect(plain.stdout).to.match(new RegExp(`^gate: ${gate.verdict.toUpperCase()} \\(baseline \\w+-\\d+cpu\\): `, 'm'));
    expect(gate.stages.filter((s) => s.regressed), 'no stage judged slower').to.deep.equal([]);
  });

  it(`${DELAY.stage} slowed by ${DELAY.seconds} s: a regression in stage ${DELAY.stage}, exit 6, judged on two boots`, function () {
    expect(delayed.code, `./lab boot --compare --append ${testDelayArg([DELAY])} exited ${delayed.code}:\n${delayed.stderr.slice(-3000)}`).to.equal(6);
    expect(delayed.stderr).to.match(new RegExp(`slower than the baseline: boot-time regression against baseline \\S+ in stage ${DELAY.stage}\\b`));
    expect(delayed.stdout).to.match(new RegExp(`^${DELAY.stage}\\s+[\\d.]+\\s+[\\d.]+\\s+\\+[\\d.]+\\s+SLOWER$`, 'm'));
    const gate = gateOf(delayed);
    expect(gate.verdict).to.equal('regression');
    const row = gate.stages.find((s) => s.stage === DELAY.stage)!;
    expect(row.regressed).to.equal(true);
    // The delay lands in the stage, less what normalising and noise take or add.
    expect(row.deltaMs).to.be.within(DELAY.seconds * 1000 * 0.6, DELAY.seconds * 1000 * 1.6);
    expect(gate.reason).to.match(/in the median of 2 boots/);
    // The module did slow that stage on both clients: its own line is on each console.
    const html = /^report: (.+)$/m.exec(delayed.stdout)![1]!;
    for (const c of ['c1', 'c2']) {
      expect(readFileSync(join(dirname(html), c, 'console.log'), 'utf8'), c).to.include(`ltsp-test: delaying stage ${DELAY.stage} by ${DELAY.seconds} s`);
    }
  });
});

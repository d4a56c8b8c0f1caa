import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';
import { bootBudgetMs, bootStages, stageBudgetMs } from '../boot/stages';
import { budgetMs, hostBudgetMs, scaledMs, STEP_BUDGETS } from './budgets';

describe('budgets: one table, one scaling rule', () => {
  const tcg = { accel: 'tcg' as const, factor: 1 };
  const kvm = { accel: 'kvm' as const, factor: 1 };

  it('takes the seconds of the accelerator, times the speed factor and the contention', () => {
    const b = { s: { tcg: 60, kvm: 20 }, scaled: true };
    expect(scaledMs(b, tcg)).to.equal(60_000);
    expect(scaledMs(b, kvm)).to.equal(20_000);
    expect(scaledMs(b, { accel: 'tcg', factor: 1.5 }, 4)).to.equal(360_000);
  });

  it('never goes below the floor, whatever the speed factor', () => {
    const b = { s: { tcg: 30, kvm: 10 }, scaled: true, floorS: 10 };
    expect(scaledMs(b, { accel: 'kvm', factor: 0.38 })).to.equal(10_000);
    expect(scaledMs(b, { accel: 'tcg', factor: 0.5 })).to.equal(15_000);
  });

  it('leaves wall-time budgets alone: the speed factor and contention do not touch them', () => {
    expect(budgetMs('imageBuild', { accel: 'tcg', factor: 3 }, 4)).to.equal(STEP_BUDGETS.imageBuild.s * 1000);
    expect(budgetMs('teardown')).to.equal(30_000);
  });

  it('gives every boot stage a KVM budget of its own and a floor for the firmware and network stages', () => {
    const stages = bootStages();
    for (const s of stages) {
      expect(s.budgetS.kvm, s.id).to.be.above(0).and.below(s.budgetS.tcg);
      expect(s.floorS, s.id).to.be.above(0);
    }
    // The iPXE stage that timed out after 11.4 s on a host with speed factor 0.38 (0.3 x KVM x CPU 1.27).
    const ipxe = stages.find((s) => s.id === 'ipxe')!;
    expect(stageBudgetMs(ipxe, { accel: 'kvm', factor: 0.38 })).to.be.at.least(10_000);
    const dhcp = stages.find((s) => s.id === 'dhcp')!;
    expect(stageBudgetMs(dhcp, { accel: 'kvm', factor: 0.1 }), "DHCP's retries are wall-clock").to.equal(dhcp.floorS * 1000);
  });

  it("gives a scenario's scaled waits a floor at their reference seconds: a fast host never shortens them", () => {
    const fast = { accel: 'tcg' as const, factor: 0.5 };
    for (const kind of ['labBoot', 'labBootPoint', 'bisectRun', 'baselineRecord', 'nestedTest', 'guestProbe'] as const) {
      const b = STEP_BUDGETS[kind];
      expect(budgetMs(kind, fast), kind).to.equal(b.s * 1000);
      expect(budgetMs(kind, { accel: 'tcg', factor: 2 }), kind).to.equal(2 * b.s * 1000);
    }
    // On this host, whatever its calibration: at least the reference, and wall time as written.
    expect(hostBudgetMs('labBoot')).to.be.at.least(STEP_BUDGETS.labBoot.s * 1000);
    expect(hostBudgetMs('hostCommand')).to.equal(STEP_BUDGETS.hostCommand.s * 1000);
  });

  it('sums a boot from its stages, with contention', () => {
    const stages = bootStages();
    const one = bootBudgetMs(stages, tcg);
    expect(one).to.equal(stages.reduce((a, s) => a + s.budgetS.tcg * 1000, 0));
    expect(bootBudgetMs(stages, tcg, 4)).to.equal(4 * one);
  });
});

describe('every wait takes its limit from the budget table', () => {
  /**
   * A deadline, a child deadline, a kill grace or a timeout option written as a number
   * where it is used. The qemu-ts-wrapper package keeps its own defaults: it knows no
   * lab budget table (issue 22), and the lab passes it deadlines from this one.
   */
  const LITERAL_WAIT = /(?:Deadline\.after|stepDeadline|\.child|\.terminate)\(\s*[\d_]+(?:\s*\*\s*[\d_]+)?\s*[,)]|\btimeout(?:Ms)?:\s*[\d_]+\b/;
  const OWN_DEFAULTS = ['qemu-ts-wrapper'];
  const root = repoRoot();
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) return OWN_DEFAULTS.some((d) => p === `harness/${d}`) ? [] : sources(p);
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
    });

  /**
   * What the scenarios add: mocha's this.timeout, a bound in a case table (`ms:`), a
   * default (`timeoutMs ?? n`), and a helper's bound written before the text of what waits
   * (`finished(lab, 60_000, './lab boot ...')`) or passed to a waiting helper (`settled(p,
   * 120_000)`). Poll periods and pauses (`.sleep(250)`) are
   * not limits, and stay where they are.
   */
  const MS = String.raw`(?:\d+_\d{3}|[1-9]\d{3,})(?:\s*\*\s*[\d_]+)?`;
  const SCENARIO_WAIT = new RegExp([
    String.raw`\.timeout\(\s*[\d_]+`,
    String.raw`\bms:\s*[\d_]+\b`,
    String.raw`\w*(?:timeout|Ms)\w*\s*\?\?\s*${MS}`,
    String.raw`[(,]\s*${MS}\s*,\s*['"\`]`,
    String.raw`\b(?:settled|finished|until|wait\w*)\([^()]*,\s*${MS}\s*[,)]`,
  ].join('|'));
  const literalWaits = (files: string[], ...patterns: RegExp[]): string[] =>
    files.flatMap((file) =>
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (patterns.some((p) => p.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );

  it('no literal limit in harness/ or cli/ outside common/budgets.ts', () => {
    expect(literalWaits([...sources('harness'), ...sources('cli')], LITERAL_WAIT), 'route these through STEP_BUDGETS').to.deep.equal([]);
  });

  it('no literal limit in scenarios/ either: they take theirs through hostBudgetMs', () => {
    const files = sources('scenarios');
    expect(files, 'the scenarios and their support files').to.include.members(['scenarios/lab-failures.e2e.ts', 'scenarios/support/lab-cli.ts']);
    expect(literalWaits(files, LITERAL_WAIT, SCENARIO_WAIT), 'name these in STEP_BUDGETS and read them with hostBudgetMs').to.deep.equal([]);
  });

  it('sees a literal limit (the check can fail)', () => {
    for (const line of ["Deadline.after(5000, 'x')", 'stepDeadline(5 * 60_000, `y`)', "deadline.child(60_000, 'reap')", 'await proc.terminate(2000);', '{ timeout: 10_000 }']) expect(LITERAL_WAIT.test(line), line).to.equal(true);
    for (const line of ["Deadline.after(budgetMs('teardown'), 'x')", 'stepDeadline(BUILD_BUDGET_MS, `y`)', 'proc.terminate(budgetMs(\'killGrace\'))']) expect(LITERAL_WAIT.test(line), line).to.equal(false);
  });

  it('sees a scenario\'s literal limit too (the check can fail), and leaves its pauses, sizes and facts alone', () => {
    const flagged = (line: string): boolean => LITERAL_WAIT.test(line) || SCENARIO_WAIT.test(line);
    for (const line of ['this.timeout(90 * 60_000);', '      ms: 180_000,', '}, opts.timeoutMs ?? 60_000);', "const r = await finished(lab, 120_000, './lab boot on a full disk');", "await until(d(10_000, 'the lock holder'), () => true);", 'if (!(await settled(k.lab.exited, 120_000))) kill();', "runLab(['ls'], { timeoutMs: 30_000 })"]) {
      expect(flagged(line), line).to.equal(true);
    }
    for (const line of ["this.timeout(hostBudgetMs('gridRun'));", "      ms: hostBudgetMs('buildRefused'),", "}, opts.timeoutMs ?? hostBudgetMs('labCommand'));", "await finished(lab, 'stopKept', './lab boot on a full disk');", 'await deadline.sleep(250);', "attach(this.test!, [run], 100, 30, 'attach-1.log')", 'settled(k.lab.exited, 0)', 'const KERNEL_REQUEST_TIMER_MS = 30_000;', '(e.recoveryMs ?? 0) / 1000', "expect(ms, 'held about 10 s').to.be.within(9_500, 15_000);"]) {
      expect(flagged(line), line).to.equal(false);
    }
  });
});

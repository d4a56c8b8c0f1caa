import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';
import { bootBudgetMs, bootStages, stageBudgetMs } from '../boot/stages';
import { budgetMs, scaledMs, STEP_BUDGETS } from './budgets';

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
    const stages = bootStages({ union: true });
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

  it('sums a boot from its stages, with contention', () => {
    const stages = bootStages({ union: true });
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

  it('no literal limit in harness/ or cli/ outside common/budgets.ts', () => {
    const found: string[] = [];
    for (const file of [...sources('harness'), ...sources('cli')]) {
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (LITERAL_WAIT.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(found, 'route these through STEP_BUDGETS').to.deep.equal([]);
  });

  it('sees a literal limit (the check can fail)', () => {
    for (const line of ["Deadline.after(5000, 'x')", 'stepDeadline(5 * 60_000, `y`)', "deadline.child(60_000, 'reap')", 'await proc.terminate(2000);', '{ timeout: 10_000 }']) expect(LITERAL_WAIT.test(line), line).to.equal(true);
    for (const line of ["Deadline.after(budgetMs('teardown'), 'x')", 'stepDeadline(BUILD_BUDGET_MS, `y`)', 'proc.terminate(budgetMs(\'killGrace\'))']) expect(LITERAL_WAIT.test(line), line).to.equal(false);
  });
});

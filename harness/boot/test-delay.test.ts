import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/errors';
import { repoRoot } from '../common/paths';
import { validateAppend } from './kernel-args';
import { parseTestDelay, testDelayArg } from './test-delay';

describe('ltsp.test.delay', () => {
  it('builds and reads STAGE:SECONDS lists', () => {
    const arg = testDelayArg([{ stage: 'nbd', seconds: 20 }, { stage: 'union', seconds: 8 }]);
    expect(arg).to.equal('ltsp.test.delay=nbd:20,union:8');
    expect(parseTestDelay('nbd:20,union:8')).to.deep.equal([{ stage: 'nbd', seconds: 20 }, { stage: 'union', seconds: 8 }]);
    expect(parseTestDelay('root:0.5')).to.deep.equal([{ stage: 'root', seconds: 0.5 }]);
  });

  const bad: [string, RegExp][] = [
    ['', /is empty/],
    ['nbd', /'nbd' is not STAGE:SECONDS/],
    ['nbd:', /is not STAGE:SECONDS/],
    ['nbd:-1', /is not STAGE:SECONDS/],
    ['nbd:1e3', /is not STAGE:SECONDS/],
    ['nbd:20,', /'' is not STAGE:SECONDS/],
    ['nfs:20', /'nfs' is not a boot stage/],
    ['nbd:0', /0 s for 'nbd' is out of range/],
    ['union:121', /121 s for 'union' is out of range/],
  ];
  for (const [value, message] of bad) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      expect(() => parseTestDelay(value)).to.throw(UsageError, message);
    });
  }

  it('--append checks it: a bad delay is a usage error before any lab starts', () => {
    expect(validateAppend('rd.debug ltsp.test.delay=nbd:20')).to.equal('rd.debug ltsp.test.delay=nbd:20');
    expect(() => validateAppend('ltsp.test.delay=nfs:20')).to.throw(UsageError, /'nfs' is not a boot stage/);
    expect(() => validateAppend('quiet ltsp.test.delay=nbd:x')).to.throw(UsageError, /'nbd:x' is not STAGE:SECONDS/);
  });
});

/**
 * The dracut module's side, run on the host: ltsp-test-delay.sh sourced by bash with
 * dracut-lib's getarg and emergency_shell, /dev/kmsg and sleep stubbed, as its hooks
 * call it at each stage.
 */
describe('ltsp-test-delay.sh (the dracut module reads ltsp.test.delay)', () => {
  const SCRIPT = join(repoRoot(), 'vm-images/client/dracut/90ltsp-union/ltsp-test-delay.sh');

  /** Calls `ltsp_test_delay STAGE` with this kernel argument value (undefined: not given). */
  function atStage(stage: string, value: string | undefined): { code: number; out: string } {
    const stubs = [
      `getarg() { ${value === undefined ? 'return 1' : `echo '${value}'`}; }`,
      'emergency_shell() { echo "EMERGENCY $*"; }',
      'sleep() { echo "SLEEP $1"; }',
    ].join('\n');
    // The script writes to /dev/kmsg, else /dev/console: neither is ours to write here.
    const script = readFileSync(SCRIPT, 'utf8').replace(/>\/dev\/kmsg 2>\/dev\/null \|\| echo "ltsp-test: \$\*" >\/dev\/console/, '');
    const r = spawnSync('bash', ['-c', `${stubs}\n${script}\nltsp_test_delay ${stage}`], { encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout + r.stderr };
  }

  it('sleeps the seconds given for its own stage, and only there', () => {
    expect(atStage('nbd', 'nbd:20,union:8')).to.deep.equal({ code: 0, out: '<5>ltsp-test: delaying stage nbd by 20 s\nSLEEP 20\n' });
    expect(atStage('union', 'nbd:20,union:8').out).to.equal('<5>ltsp-test: delaying stage union by 8 s\nSLEEP 8\n');
    expect(atStage('root', 'nbd:20,union:8')).to.deep.equal({ code: 0, out: '' });
    expect(atStage('nbd', undefined)).to.deep.equal({ code: 0, out: '' });
  });

  it('a stage it has no hook for fails the boot at once, loudly (the harness fails on "ltsp-test: FAILED")', () => {
    const r = atStage('nbd', 'kernel:5');
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/ltsp-test: FAILED: ltsp\.test\.delay=kernel:5: no hook for stage 'kernel' \(this module delays: nbd root union\)/);
    expect(r.out).to.include('EMERGENCY -n ltsp-test');
    expect(r.out).to.not.include('SLEEP');
  });

  it('a bad number fails the boot too', () => {
    for (const bad of ['nbd:', 'nbd:x', 'nbd:1.2.3', 'nbd:-1']) {
      const r = atStage('nbd', bad);
      expect(r.code, bad).to.equal(1);
      expect(r.out, bad).to.match(/ltsp-test: FAILED: .* is not a number of seconds/);
    }
  });

  it('the stages it hooks are stages the harness times', () => {
    const hooked = /^LTSP_TEST_DELAY_STAGES="([^"]+)"$/m.exec(readFileSync(SCRIPT, 'utf8'))![1]!.split(' ');
    for (const s of hooked) expect(() => parseTestDelay(`${s}:1`), s).to.not.throw();
  });
});

/**
 * The ltsp23 lane's side (vm-images/ltsp23/client/rootfs/etc/initramfs-tools/scripts/):
 * the same argument read by initramfs-tools' hooks, run by dash (busybox sh's dialect) with
 * the kernel command line given, initramfs-tools' panic and sleep stubbed.
 */
describe('lab-test-delay (the ltsp23 lane\'s initramfs reads ltsp.test.delay)', () => {
  const DIR = join(repoRoot(), 'vm-images/ltsp23/client/rootfs/etc/initramfs-tools/scripts');
  const LIB = join(DIR, 'lab-test-delay');

  function atStage(stage: string, cmdline: string): { code: number; out: string } {
    const stubs = ['panic() { echo "PANIC $*"; }', 'sleep() { echo "SLEEP $1"; }'].join('\n');
    const script = readFileSync(LIB, 'utf8')
      .replace(/>\/dev\/kmsg 2>\/dev\/null \|\| echo "ltsp-test: \$\*" >\/dev\/console/, '')
      .replace('read -r cmdline </proc/cmdline', `cmdline='${cmdline}'`);
    expect(script, 'the stubs took').to.not.match(/\/proc\/cmdline|\/dev\/kmsg/);
    const r = spawnSync('dash', ['-c', `${stubs}\n${script}\nltsp_test_delay ${stage}`], { encoding: 'utf8' });
    return { code: r.status ?? -1, out: r.stdout + r.stderr };
  }

  it('sleeps the seconds given for its own stage, and only there', () => {
    const line = 'root=/dev/nbd0 ltsp.test.delay=nbd:15,root:2 console=ttyS0';
    expect(atStage('nbd', line)).to.deep.equal({ code: 0, out: '<5>ltsp-test: delaying stage nbd by 15 s\nSLEEP 15\n' });
    expect(atStage('root', line).out).to.equal('<5>ltsp-test: delaying stage root by 2 s\nSLEEP 2\n');
    expect(atStage('nbd', 'root=/dev/nbd0 console=ttyS0')).to.deep.equal({ code: 0, out: '' });
  });

  it('a stage it has no hook for (union: LTSP lays its own overlay) fails the boot at once, loudly', () => {
    const r = atStage('nbd', 'ltsp.test.delay=union:5');
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/ltsp-test: FAILED: ltsp\.test\.delay=union:5: no hook for stage 'union' \(this initramfs delays: nbd root\)/);
    expect(r.out).to.include('PANIC');
    expect(r.out).to.not.include('SLEEP');
    expect(atStage('nbd', 'ltsp.test.delay=nbd:1.2.3').out).to.match(/ltsp-test: FAILED: .* is not a number of seconds/);
  });

  it('each stage it hooks has its script, in the initramfs-tools folder that runs at that stage, and is a stage the harness times', () => {
    const hooked = /^LTSP_TEST_DELAY_STAGES="([^"]+)"$/m.exec(readFileSync(LIB, 'utf8'))![1]!.split(' ');
    const folder: Record<string, string> = { nbd: 'init-premount', root: 'local-premount' };
    expect(hooked).to.have.members(Object.keys(folder));
    for (const s of hooked) {
      expect(() => parseTestDelay(`${s}:1`), s).to.not.throw();
      // LTSP's ltsp.img hook turns every /scripts/*/*ltsp* into #!/bin/true (LTSP5's, it thinks).
      expect(readdirSync(join(DIR, folder[s]!)).filter((f) => f.includes('ltsp')), `scripts of ${folder[s]} that LTSP's hook would blank`).to.deep.equal([]);
      expect(readFileSync(join(DIR, folder[s]!, `lab-test-delay-${s}`), 'utf8'), s).to.match(new RegExp(`^ltsp_test_delay ${s}$`, 'm'));
    }
  });
});

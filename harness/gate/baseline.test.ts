import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SetupError } from '../common/errors';
import { baselineFacts, baselinePath, baselineProblem, loadBaseline, makeBaseline, writeBaseline } from './baseline';
import { WaitSeries } from './guest-wait';
import { bootSample } from './sample';
import { repoRoot } from '../common/paths';
import type { Baseline, BootSample } from './types';
import { clientSpec, sameClient, type ClientSpec } from '../client/client-spec';
import { baselineProfile } from '../results/baseline';

const CONFIG = { memoryMb: 384, nic: 'virtio-net-pci', client: clientSpec({ kind: 'stock' }) };

function sample(ipxe: number, nbd: number, login: number, over: Partial<BootSample> = {}): BootSample {
  return { stages: { ipxe, nbd, login }, totalMs: ipxe + nbd + login, speedFactor: 1, otherLoad: 0.2, guestsAtOnce: 2, ...over };
}

describe('gate: baselines', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gate-baseline-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('makeBaseline: per stage the median and every boot, the total, the host it was recorded on', () => {
    const b = makeBaseline([sample(400, 17_000, 22_000), sample(500, 18_000, 25_000, { otherLoad: 0.4, guestsAtOnce: 3 }), sample(450, 19_000, 21_000)], {
      profile: 'tcg-2cpu',
      clientsAtOnce: 2,
      config: CONFIG,
      createdAt: new Date('2026-12-01T11:00:00Z'),
      host: '0123456789abcdef',
    });
    expect(b).to.deep.equal({
      schemaVersion: 2,
      profile: 'tcg-2cpu',
      speedFactor: 1,
      runs: 3,
      createdAt: '2026-12-01T11:00:00.000Z',
      host: '0123456789abcdef',
      stages: {
        ipxe: { medianMs: 450, samples: [400, 500, 450] },
        nbd: { medianMs: 18_000, samples: [17_000, 18_000, 19_000] },
        login: { medianMs: 22_000, samples: [22_000, 25_000, 21_000] },
      },
      totalMs: { medianMs: 40_450, samples: [39_400, 43_500, 40_450] },
      clientsAtOnce: 2,
      guestsAtOnce: 3,
      otherLoad: 0.2,
      config: CONFIG,
    });
    expect(baselineProblem(b)).to.equal(undefined);
  });

  it("makeBaseline scales boots of runs that calibrated differently to the baseline's speed factor", () => {
    const b = makeBaseline([sample(400, 10_000, 20_000), sample(480, 12_000, 24_000, { speedFactor: 1.2 }), sample(400, 10_000, 20_000)], { profile: 'tcg-2cpu', clientsAtOnce: 2, config: CONFIG });
    expect(b.speedFactor).to.equal(1);
    expect(b.stages.nbd!.samples).to.deep.equal([10_000, 10_000, 10_000]);
  });

  it('write, then load: the same baseline; a missing one is undefined', () => {
    const b = makeBaseline([sample(400, 17_000, 22_000)], { profile: 'tcg-2cpu', clientsAtOnce: 2, config: CONFIG });
    const file = writeBaseline(b, dir);
    expect(file).to.equal(join(dir, 'tcg-2cpu.json'));
    expect(loadBaseline('tcg-2cpu', dir)).to.deep.equal(b);
    expect(loadBaseline('kvm-4cpu', dir)).to.equal(undefined);
  });

  const broken: [string, (b: Record<string, unknown>) => unknown, RegExp][] = [
    ['another schema version', (b) => ({ ...b, schemaVersion: 3 }), /schemaVersion is 3, not 2$/],
    ['a version 1 baseline (CPU-calibrated)', (b) => ({ ...b, schemaVersion: 1 }), /schemaVersion is 1, not 2 \(version 1 was scaled by the CPU calibration/],
    ['a stage without samples', (b) => ({ ...b, stages: { nbd: { medianMs: 1 } } }), /\/stages\/nbd: must have required property 'samples'/],
    ['no stages', (b) => ({ ...b, stages: {} }), /\/stages: must NOT have fewer than 1 properties/],
    ['a speed factor of 0', (b) => ({ ...b, speedFactor: 0 }), /\/speedFactor: must be > 0/],
    ['no config', (b) => ({ ...b, config: undefined }), /must have required property 'config'/],
    ['no client kind (recorded before kinds)', (b) => ({ ...b, config: { memoryMb: 384, nic: 'virtio-net-pci', union: true } }), /config has no client: it does not say which client kind/],
    ['an unknown client kind', (b) => ({ ...b, config: { ...CONFIG, client: { kind: 'nfs' } } }), /\/config\/client\/kind: must be equal to one of the allowed values \(ltsp,stock\)/],
    ['a host that is not a string', (b) => ({ ...b, host: 42 }), /\/host: must be string/],
    ["another profile's", (b) => ({ ...b, profile: 'kvm-2cpu' }), /it is for profile 'kvm-2cpu'/],
    ['an array', () => [], /\/: must be object/],
    ['waits for fewer boots than it has samples', (b) => ({ ...b, totalMs: { medianMs: 1, samples: [1], waitSamples: [1, 2] } }), /totalMs: 2 waitSamples for 1 samples/],
  ];
  for (const [what, change, message] of broken) {
    it(`a baseline file with ${what} is a set-up problem that says what is wrong`, () => {
      const b = makeBaseline([sample(400, 17_000, 22_000)], { profile: 'tcg-2cpu', clientsAtOnce: 2, config: CONFIG });
      writeFileSync(baselinePath('tcg-2cpu', dir), JSON.stringify(change(b as unknown as Record<string, unknown>)));
      expect(() => loadBaseline('tcg-2cpu', dir)).to.throw(SetupError, message);
    });
  }

  it('a baseline file that is not JSON is a set-up problem with the way out', () => {
    writeFileSync(baselinePath('tcg-2cpu', dir), '{ "schemaVersion": 2,');
    try {
      loadBaseline('tcg-2cpu', dir);
      expect.fail('no error');
    } catch (e) {
      expect(e).to.be.instanceOf(SetupError);
      expect((e as SetupError).message).to.match(/is not JSON/);
      expect((e as SetupError).hint).to.equal('record it again: ./lab baseline --update');
    }
  });

  it('each client kind has its own profile, so its own file: a stock baseline is not the ltsp client\'s', () => {
    const host = { accel: 'tcg', cores: 2 };
    expect(baselineProfile(host, clientSpec({ kind: 'ltsp' }))).to.equal('tcg-2cpu-ltsp');
    expect(baselineProfile(host, clientSpec({ kind: 'stock' }))).to.equal('tcg-2cpu-stock');
    const stock = makeBaseline([sample(400, 17_000, 22_000)], { profile: baselineProfile(host, CONFIG.client), clientsAtOnce: 2, config: CONFIG });
    writeBaseline(stock, dir);
    expect(loadBaseline('tcg-2cpu-stock', dir)).to.deep.equal(stock);
    expect(loadBaseline(baselineProfile(host, clientSpec({ kind: 'ltsp' })), dir), 'the ltsp client has none').to.equal(undefined);
    // A stock baseline put where the ltsp one goes is refused, not compared.
    writeFileSync(baselinePath('tcg-2cpu-ltsp', dir), JSON.stringify(stock));
    expect(() => loadBaseline('tcg-2cpu-ltsp', dir)).to.throw(SetupError, /it is for profile 'tcg-2cpu-stock'/);
  });

  it('the baseline kept in the repo for the reference host (tcg-2cpu, stock client) is a valid one, with the guests\' waits', () => {
    const data = JSON.parse(readFileSync(join(repoRoot(), 'fixtures', 'baselines', 'tcg-2cpu-stock.json'), 'utf8')) as Baseline;
    expect(baselineProblem(data)).to.equal(undefined);
    expect(data.config.client).to.deep.equal({ kind: 'stock' });
    expect(data.totalMs.waitSamples, 'recorded with the run-queue waits').to.have.length(data.runs);
  });

  it('a baseline from before the union method was a dimension (config.union, a boolean) reads as one of the client: true unionfs-fuse, false none', () => {
    const host = { accel: 'tcg', cores: 2 };
    // The repo's own: recorded with config.union true, under the key the default client still has.
    expect(baselineProfile(host, clientSpec())).to.equal('tcg-2cpu-ltsp');
    const kept = loadBaseline('tcg-2cpu-ltsp', join(repoRoot(), 'fixtures', 'baselines'))!;
    expect(kept.config).to.not.have.property('union');
    expect(sameClient(kept.config.client, clientSpec())).to.equal(true);
    expect(sameClient(kept.config.client, clientSpec({ union: 'overlayfs' }))).to.equal(false);
    const b = makeBaseline([sample(400, 17_000, 22_000)], { profile: 'tcg-2cpu', clientsAtOnce: 2, config: { ...CONFIG, client: { kind: 'stock' } as ClientSpec } });
    for (const [union, read] of [[true, clientSpec({ kind: 'stock' })], [false, clientSpec({ kind: 'stock', union: 'none' })]] as const) {
      writeFileSync(baselinePath('tcg-2cpu', dir), JSON.stringify({ ...b, config: { ...b.config, union } }));
      const loaded = loadBaseline('tcg-2cpu', dir)!;
      expect(loaded.config, `union ${union}`).to.not.have.property('union');
      expect(sameClient(loaded.config.client, read), `union ${union}`).to.equal(true);
      expect(sameClient(loaded.config.client, clientSpec({ kind: 'stock', union: union ? 'none' : 'unionfs-fuse' })), `union ${union}`).to.equal(false);
    }
  });
});

describe('gate: bootSample', () => {
  it("with the guest's wait series, each stage gets the wait that fell in it", () => {
    const w = new WaitSeries();
    w.add(0, 0);
    w.add(2000, 1000);
    w.add(10_000, 1000);
    const marks = [
      { stage: 'ipxe', label: '', t: 1000, line: '' },
      { stage: 'login', label: '', t: 10_000, line: '' },
    ];
    expect(bootSample(marks, 1, { otherLoad: 0, guestsAtOnce: 1 }, w)).to.deep.include({ waitMs: { ipxe: 500, login: 500 }, totalWaitMs: 1000 });
  });

  it('stage marks (ms from QEMU start) become each stage\'s time since the one before', () => {
    const marks = [
      { stage: 'ipxe', label: 'iPXE start', t: 400.4, line: '' },
      { stage: 'dhcp', label: 'DHCP lease', t: 2500, line: '' },
      { stage: 'login', label: 'login prompt', t: 58_700, line: '' },
    ];
    expect(bootSample(marks, 1.1, { otherLoad: 0.25, guestsAtOnce: 2 })).to.deep.equal({
      stages: { ipxe: 400, dhcp: 2100, login: 56_200 },
      totalMs: 58_700,
      speedFactor: 1.1,
      otherLoad: 0.25,
      guestsAtOnce: 2,
    });
  });
});

describe('baselineFacts: the one reader, as the report draws a baseline', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gate-baseline-facts-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads loadBaseline's baseline into the report's facts: each stage's median, the total, the client", () => {
    const b = makeBaseline([sample(400, 17_000, 22_000), sample(500, 18_000, 25_000)], { profile: 'tcg-2cpu-stock', clientsAtOnce: 2, config: CONFIG, createdAt: new Date('2026-12-01T11:00:00Z') });
    writeFileSync(baselinePath('tcg-2cpu-stock', dir), JSON.stringify(b));
    const f = baselineFacts('tcg-2cpu-stock', dir);
    expect(f?.stages).to.deep.equal([{ stage: 'ipxe', medianMs: 450 }, { stage: 'nbd', medianMs: 17_500 }, { stage: 'login', medianMs: 23_500 }]);
    expect([f?.runs, f?.totalMs, f?.speedFactor, f?.createdAt, f?.client]).to.deep.equal([2, 41_450, 1, '2026-12-01T11:00:00.000Z', CONFIG.client]);
  });

  it('a file the gate refuses, or none, is no baseline for the report (it does not throw)', () => {
    writeFileSync(baselinePath('tcg-2cpu-stock', dir), JSON.stringify({ schemaVersion: 1, profile: 'tcg-2cpu-stock', stages: { ipxe: { medianMs: 400, samples: [400] } } }));
    writeFileSync(baselinePath('kvm-2cpu-stock', dir), '{ not json');
    expect(baselineFacts('tcg-2cpu-stock', dir)).to.equal(undefined);
    expect(baselineFacts('kvm-2cpu-stock', dir)).to.equal(undefined);
    expect(baselineFacts('tcg-4cpu-stock', dir)).to.equal(undefined);
  });
});

import { existsSync, readFileSync, renameSync, statSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { budgetMs } from '../common/budgets';
import type { Deadline } from '../common/deadline';
import { HarnessError, SetupError, UsageError } from '../common/errors';
import { log } from '../common/log';
import { RunContext, stateRoot } from '../common/run-context';
import { ACCEL_VERDICT_FILE } from '../common/state-root';
import { stepDeadline } from '../common/run-deadline';
import { teardownSignal } from '../common/teardown';
import { hostSpeed, type Accel, type AccelChoice, type HostSpeed } from '../common/speed';
import { defaultQemuBinary } from '../qemu/lab-qemu';
import { probeAccel, seconds, type ProbeResult } from './accel-probe';
import { inspectKvmDevice, kvmDevicePath } from './kvm-device';

const debug = log('accel');

/**
 * KVM reaches the initramfs's /init in about a second; past this the probe also times
 * TCG (given no more than KVM took) and keeps KVM only if it was faster: nested KVM
 * without EPT can run slower than TCG.
 */
export const KVM_SLOW_MS = 3000;
/** The probe's two marks under KVM: "Linux version", then "Run /init". */
export const PROBE_KERNEL_MS = budgetMs('accelProbeKernel');
export const PROBE_INIT_MS = budgetMs('accelProbeInit');

export interface AccelDecision extends AccelChoice {
  /** The probes this decision ran (none when skipped, or taken from the cache). */
  probes: Array<Pick<ProbeResult, 'accel' | 'ok' | 'ms' | 'failure'>>;
  /** Read from the state folder's cache (same host boot, same device, same QEMU). */
  cached: boolean;
}

/** Runs one probe: each mark within its limit, the whole probe within `totalMs` when given. */
export type Prober = (accel: Accel, limits: { kernelMs: number; initMs: number; totalMs?: number }) => Promise<ProbeResult>;

export interface ChooseAccelOptions {
  kernel: string;
  initrd: string;
  deadline: Deadline;
  env?: NodeJS.ProcessEnv;
  /** Default: accel-verdict.json in the state root (cleared with /run at every host boot). */
  cacheFile?: string;
  /** Default: /proc/sys/kernel/random/boot_id. */
  bootId?: string;
  /** Default: probeAccel on the lab's QEMU, in a registered run of its own. */
  prober?: Prober;
}

/** The verdict file in the state root; not a run folder, so the reaper leaves it alone. */
export function accelCacheFile(): string {
  return join(stateRoot(), ACCEL_VERDICT_FILE);
}

function readBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** The binary a command name runs (PATH lookup), with its size and mtime: a new QEMU is probed anew. */
function binaryIdentity(bin: string, env: NodeJS.ProcessEnv): string {
  const candidates = isAbsolute(bin) || bin.includes('/') ? [bin] : (env.PATH ?? '').split(delimiter).map((d) => join(d, bin));
  for (const c of candidates) {
    try {
      const st = statSync(c);
      if (st.isFile()) return `${c}:${st.size}:${Math.round(st.mtimeMs)}`;
    } catch {
      // not here
    }
  }
  return `${bin}:absent`;
}

/** Verdicts by key (boot id|device|device identity|QEMU), newest last. */
type CacheFile = Array<{ key: string; decision: AccelDecision }>;
const CACHE_ENTRIES = 8;

/**
 * Whether an entry can still be hit: this host boot's, for a device that still exists.
 * The others go first, so the simulated hosts of a test (devices in a folder it removes)
 * do not push the real /dev/kvm's verdict out.
 */
function live(entry: CacheFile[number], bootId: string): boolean {
  const [boot, device] = entry.key.split('|');
  return boot === bootId && device !== undefined && existsSync(device);
}

function readCacheFile(file: string): CacheFile {
  try {
    const entries = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(entries) ? (entries as CacheFile).filter((e) => e?.decision?.accel === 'kvm' || e?.decision?.accel === 'tcg') : [];
  } catch {
    return [];
  }
}

function readCache(file: string, key: string): AccelDecision | undefined {
  return readCacheFile(file).find((e) => e.key === key)?.decision;
}

function writeCache(file: string, key: string, decision: AccelDecision): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const bootId = key.split('|', 1)[0] ?? '';
    const entries = [...readCacheFile(file).filter((e) => e.key !== key && live(e, bootId)), { key, decision }].slice(-CACHE_ENTRIES);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entries, null, 2) + '\n');
    try {
      renameSync(tmp, file);
    } catch (e) {
      // e.g. a folder where the file should be: each run would leave its temp file beside it.
      rmSync(tmp, { force: true });
      throw e;
    }
  } catch (e) {
    // A read-only state root costs a probe per run, nothing more.
    debug('cannot cache the verdict in %s: %s', file, (e as Error).message);
  }
}

function defaultProber(opts: ChooseAccelOptions, env: NodeJS.ProcessEnv): Prober {
  return async (accel, { kernelMs, initMs, totalMs }) => {
    const run = new RunContext();
    run.register();
    try {
      const deadline = opts.deadline.child(totalMs ?? Infinity, `accelerator probe (${accel})`);
      return await probeAccel({ accel, qemuBinary: defaultQemuBinary(env), kernel: opts.kernel, initrd: opts.initrd, stateDir: run.stateDir, deadline, kernelMs, initMs });
    } finally {
      run.unregister();
    }
  };
}

/**
 * Chooses the accelerator by proof, never by the device file: KVM only when a short
 * boot of the lab's own kernel under KVM reaches the initramfs in time, and is not
 * slower than TCG. LTSP_LAB_ACCEL=tcg skips the probe; =kvm forces KVM, and a failed
 * probe is then a set-up error. A verdict is cached per host boot, /dev/kvm and QEMU.
 */
export async function chooseAccel(opts: ChooseAccelOptions): Promise<AccelDecision> {
  const env = opts.env ?? process.env;
  const forced = env.LTSP_LAB_ACCEL ?? '';
  if (forced !== '' && forced !== 'kvm' && forced !== 'tcg') {
    throw new UsageError(`LTSP_LAB_ACCEL='${forced}' is neither kvm nor tcg`, { hint: 'unset it to let the probe choose' });
  }
  if (forced === 'tcg') return { accel: 'tcg', reason: 'tcg (LTSP_LAB_ACCEL=tcg: no probe)', probes: [], cached: false };

  const device = inspectKvmDevice(kvmDevicePath(env));
  const refuse = (why: string): never => {
    throw new SetupError(`LTSP_LAB_ACCEL=kvm, but KVM cannot run the client: ${why}`, { hint: 'unset LTSP_LAB_ACCEL (or set it to tcg) to run under TCG' });
  };
  if (device.state === 'missing') {
    if (forced === 'kvm') refuse(`${device.path} does not exist`);
    return { accel: 'tcg', reason: `no ${device.path} -> tcg`, probes: [], cached: false };
  }
  if (device.state === 'unusable') {
    if (forced === 'kvm') refuse(`${device.path}: ${device.why}`);
    return { accel: 'tcg', reason: `${device.path} unusable (${device.why}) -> tcg`, probes: [], cached: false };
  }

  const cacheFile = opts.cacheFile ?? accelCacheFile();
  const key = [opts.bootId ?? readBootId(), device.path, device.identity, binaryIdentity(defaultQemuBinary(env), env)].join('|');
  const hit = readCache(cacheFile, key);
  if (hit) {
    if (forced === 'kvm' && hit.accel !== 'kvm') refuse(`the probe failed earlier in this host boot: ${hit.reason}`);
    debug('cached verdict: %s', hit.reason);
    return { ...hit, reason: `${hit.reason} (probed earlier this host boot)`, cached: true };
  }

  const prober = opts.prober ?? defaultProber(opts, env);
  const decision = await decide(prober, opts.deadline);
  // A probe a signal's teardown ended proves nothing about this host: not cached.
  const stopping = teardownSignal();
  if (stopping !== undefined) throw new HarnessError(`the accelerator probe was stopped on ${stopping}`);
  if (forced === 'kvm' && decision.accel !== 'kvm') refuse(decision.reason);
  writeCache(cacheFile, key, decision);
  return decision;
}

async function decide(prober: Prober, deadline: Deadline): Promise<AccelDecision> {
  const kvm = await prober('kvm', { kernelMs: PROBE_KERNEL_MS, initMs: Math.min(PROBE_INIT_MS, deadline.remaining()) });
  const probes: AccelDecision['probes'] = [summary(kvm)];
  if (!kvm.ok) return { accel: 'tcg', reason: `kvm unusable (probe: ${kvm.failure}) -> tcg`, probes, cached: false };
  if (kvm.ms <= KVM_SLOW_MS) return { accel: 'kvm', reason: `kvm (probe: "Run /init" in ${seconds(kvm.ms)})`, probes, cached: false };
  // KVM ran, but slowly: TCG gets as long as KVM took (the probe stays cheap) and wins only by finishing.
  const tcg = await prober('tcg', { kernelMs: kvm.ms, initMs: kvm.ms, totalMs: kvm.ms });
  probes.push(summary(tcg));
  if (tcg.ok && tcg.ms < kvm.ms) {
    return { accel: 'tcg', reason: `kvm slower than tcg (probe: "Run /init" in ${seconds(kvm.ms)} under kvm, ${seconds(tcg.ms)} under tcg) -> tcg`, probes, cached: false };
  }
  return { accel: 'kvm', reason: `kvm (probe: "Run /init" in ${seconds(kvm.ms)}; tcg not faster)`, probes, cached: false };
}

function summary(p: ProbeResult): AccelDecision['probes'][number] {
  return { accel: p.accel, ok: p.ok, ms: Math.round(p.ms), ...(p.failure ? { failure: p.failure } : {}) };
}

let memo: Promise<HostSpeed> | undefined;

/**
 * The host's speed with the accelerator chosen by proof, once per process (a `./lab
 * test` run shares it across its suites; other processes read the cached verdict).
 */
export function decideHostSpeed(opts: { kernel: string; initrd: string; deadline?: Deadline }): Promise<HostSpeed> {
  memo ??= chooseAccel({ kernel: opts.kernel, initrd: opts.initrd, deadline: opts.deadline ?? stepDeadline(budgetMs('accelProbe'), 'choose the accelerator') }).then((d) => hostSpeed(d));
  memo.catch(() => (memo = undefined));
  return memo;
}

import type { ThinClient, StartedThinClient } from '../boot/thin-client';
import { hostId } from './host-id';
import type { StartedLab } from '../lab/lab';
import type { ClientTimeline } from '../results/types';
import { baselineProfile } from '../results/baseline';
import { baselinePath, baselinesDir, loadBaseline, shownPath } from './baseline';
import { dockerLabServers, HostSampler } from './host-sampler';
import { judgeBoots, looksSlower } from './judge';
import { DEFAULT_GATE_POLICY, type GatePolicy } from './policy';
import { bootSample } from './sample';
import { guestSpeed } from './guest-speed';
import type { Baseline, BootConfig, BootSample, GateVerdict } from './types';

export interface BootRound {
  samples: BootSample[];
  timelines: ClientTimeline[];
}

/**
 * Boots started clients to login at once, while a HostSampler watches the host, and
 * gives one sample per client, with the lab's guest speed (measured before its first
 * boots). A boot that fails throws (the stack failed: not the gate's to judge). The
 * clients are left running; the caller stops them.
 */
export async function sampleBoots(lab: StartedLab, start: () => Promise<StartedThinClient[]>): Promise<{ clients: StartedThinClient[]; round: BootRound }> {
  const { factor, probeMs, waitMs } = await guestSpeed(lab);
  // Every lab on the host but this one is company: its server, its NBD server, its guests.
  const sampler = new HostSampler({ ownRun: lab.run.id, ownStateDir: lab.run.stateDir, labs: dockerLabServers });
  let clients: StartedThinClient[];
  try {
    clients = await start();
    for (const c of clients) sampler.watch(c.name, c.pid, c.startedAt);
    const results = await Promise.allSettled(clients.map((c) => c.waitForBoot()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (e) {
    sampler.stop();
    throw e;
  }
  await sampler.settle();
  const host = sampler.stop();
  return {
    clients,
    round: {
      samples: clients.map((c) => ({ ...bootSample(c.timeline, factor, host, host.waits?.get(c.name), host.stalls?.get(c.name)), speedProbes: { probeMs, waitMs } })),
      timelines: clients.map((c) => c.report()),
    },
  };
}

/** `n` fresh clients named `${prefix}1`.., booted at once to login and stopped: one sample each. */
export async function bootRound(lab: StartedLab, n: number, prefix: string, configure: (c: ThinClient) => ThinClient): Promise<BootRound> {
  const started: StartedThinClient[] = [];
  try {
    const { round } = await sampleBoots(lab, async () => {
      for (let i = 1; i <= n; i++) started.push(await configure(lab.client(`${prefix}${i}`)).start());
      return started;
    });
    return round;
  } finally {
    await Promise.allSettled(started.map((c) => c.stop()));
  }
}

export interface GateRunOptions {
  /** The boots already made of this configuration (e.g. ./lab boot's clients). */
  first: BootSample[];
  config: BootConfig;
  /** Clients booted at once in each retry round. */
  clientsAtOnce: number;
  /** Configures each retry boot as the first ones were (without their MACs). */
  configure: (c: ThinClient) => ThinClient;
  /** Retry rounds; the policy's by default. */
  retries?: number;
  policy?: Readonly<GatePolicy>;
  /** Where the baselines are; fixtures/baselines by default. */
  baselineDir?: string;
  /** Retry clients' names start with this (each round adds a letter). */
  prefix?: string;
  progress?: (line: string) => void;
}

export interface GateResult {
  verdict: GateVerdict;
  samples: BootSample[];
  /** The retry boots' timelines. */
  retryTimelines: ClientTimeline[];
  baseline?: Baseline;
}


export interface RetryOptions {
  first: readonly BootSample[];
  retries: number;
  judge: (samples: readonly BootSample[]) => GateVerdict;
  /** Boots once more (round 1, 2, ...) and gives those boots' samples. */
  bootMore: (round: number) => Promise<BootSample[]>;
  progress?: (line: string) => void;
}

/**
 * Judges the first boots; while something looks slower and rounds are left, boots more
 * and judges all boots again (the judge takes the median). A clean verdict ends it at once.
 */
export async function judgeWithRetries(opts: RetryOptions): Promise<{ verdict: GateVerdict; samples: BootSample[] }> {
  const samples = [...opts.first];
  let verdict = opts.judge(samples);
  for (let round = 1; round <= opts.retries && looksSlower(verdict); round++) {
    opts.progress?.(`gate: looks slower: ${verdict.reason}; booting again (retry ${round} of ${opts.retries})`);
    samples.push(...(await opts.bootMore(round)));
    verdict = opts.judge(samples);
  }
  return { verdict, samples };
}

/**
 * Judges boots against the baseline of this host's profile. When something looks slower
 * it boots the same configuration again, up to `retries` rounds, and judges the median
 * of all boots, so one slow boot on a shared host is not a regression.
 */
export async function gateRun(lab: StartedLab, opts: GateRunOptions): Promise<GateResult> {
  const policy = opts.policy ?? DEFAULT_GATE_POLICY;
  const profile = baselineProfile(lab.speed, opts.config.client);
  const dir = opts.baselineDir ?? baselinesDir();
  const baseline = loadBaseline(profile, dir);
  const retryTimelines: ClientTimeline[] = [];
  const { verdict, samples } = await judgeWithRetries({
    first: opts.first,
    retries: opts.retries ?? policy.retries,
    judge: (samples) => judgeBoots({ profile, baseline, baselineFile: shownPath(baselinePath(profile, dir)), samples, config: opts.config, policy, host: hostId() }),
    bootMore: async (round) => {
      const r = await bootRound(lab, opts.clientsAtOnce, `${opts.prefix ?? 'gate'}${String.fromCharCode(96 + round)}`, opts.configure);
      retryTimelines.push(...r.timelines);
      return r.samples;
    },
    ...(opts.progress ? { progress: opts.progress } : {}),
  });
  return { verdict, samples, retryTimelines, ...(baseline ? { baseline } : {}) };
}

/**
 * The gate on boots the caller powers on (./lab boot --compare, ./lab bisect
 * --slower-than-baseline): boots them while the host is watched, stops them (retry boots
 * must not share the cores with them), then gateRun with them as its first samples.
 */
export async function gateBoots(lab: StartedLab, start: () => Promise<StartedThinClient[]>, opts: Omit<GateRunOptions, 'first' | 'clientsAtOnce'> & { clients: number }): Promise<GateResult> {
  const { clients: count, ...rest } = opts;
  const { clients, round } = await sampleBoots(lab, start);
  await Promise.allSettled(clients.map((c) => c.stop()));
  return gateRun(lab, { ...rest, first: round.samples, clientsAtOnce: Math.min(count, (opts.policy ?? DEFAULT_GATE_POLICY).clientsAtOnce) });
}

import { spread } from '../common/spread';
import { clientLabel, clientSpecArgv, sameClient } from '../client/client-spec';
import { DEFAULT_GATE_POLICY, type GatePolicy } from './policy';
import type { Baseline, BootConfig, BootSample, GateVerdict, Measured, StageVerdict } from './types';

export interface JudgeInput {
  profile: string;
  baseline: Baseline | undefined;
  /** How to make the missing baseline, for the reason. */
  baselineFile: string;
  samples: readonly BootSample[];
  /** How the judged boots were booted. */
  config: BootConfig;
  policy?: Readonly<GatePolicy>;
  /** The judging machine (gate/host-id.ts): on the baseline's own host, no allowance for another host. */
  host?: string;
}

const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const signed = (ms: number): string => `${ms >= 0 ? '+' : '-'}${s1(Math.abs(ms))}`;
const median = (values: readonly number[]): number => spread(values)?.median ?? NaN;
const range = (values: readonly number[]): number => (values.length ? Math.max(...values) - Math.min(...values) : 0);

/** A stage's (or the total's) allowance: its delta must exceed every one of these. */
export function slackMs(baselineMs: number, baselineSamples: readonly number[], rel: number, absMs: number, spreadK: number): number {
  return Math.max(rel * baselineMs, absMs, spreadK * range(baselineSamples));
}

interface Row extends StageVerdict {
  slackMs: number;
  /** Beyond its slack: slower, by the stack or by the host. */
  slower: boolean;
  /** What the host can have added: the share a host other than the baseline's may add, and the host's CPU stall during the stage. */
  otherHostMs: number;
  stallMs: number;
}

/** Whether the times can be taken less the guests' waits for a host CPU: the baseline's and every boot's were watched. */
function netOfWaits(b: Baseline, samples: readonly BootSample[]): boolean {
  return b.totalMs.waitSamples !== undefined && samples.every((s) => s.waitMs !== undefined && s.totalWaitMs !== undefined);
}

/** A baseline stage's times, less each boot's wait when `net`. */
function baselineTimes(m: Measured, net: boolean): number[] {
  return m.samples.map((v, i) => (net ? Math.max(0, v - (m.waitSamples?.[i] ?? 0)) : v));
}

/**
 * Each stage and the total: the median of the boots against the baseline's, both less
 * the time the guest waited for a host CPU (when both were watched), scaled to the
 * baseline's guest speed factor (gate/guest-speed.ts).
 */
function compareRows(b: Baseline, samples: readonly BootSample[], p: Readonly<GatePolicy>): Row[] {
  const net = netOfWaits(b, samples);
  const scale = (s: BootSample): number => b.speedFactor / s.speedFactor;
  // The host's stall less the guest's own wait (already taken out of its time), scaled as the times are.
  const stallOf = (s: BootSample, stall: number | undefined, wait: number | undefined): number => Math.max(0, (stall ?? 0) - (net ? (wait ?? 0) : 0)) * scale(s);
  const row = (stage: string, base: number[], values: number[], stalls: number[], rel: number, absMs: number, spreadK: number): Row => {
    const baselineMs = Math.round(median(base));
    const measuredMs = Math.round(median(values));
    const deltaMs = measuredMs - baselineMs;
    const slack = slackMs(baselineMs, base, rel, absMs, spreadK);
    const otherHostMs = Math.round(p.otherHostRel * baselineMs);
    const stallMs = Math.round(median(stalls));
    const slower = deltaMs > slack;
    return { stage, baselineMs, measuredMs, deltaMs, regressed: slower && deltaMs - slack > otherHostMs + stallMs, slackMs: Math.round(slack), slower, otherHostMs, stallMs };
  };
  const rows: Row[] = [];
  for (const [stage, m] of Object.entries(b.stages)) {
    const having = samples.filter((s) => stage in s.stages);
    if (having.length === 0) continue;
    const values = having.map((s) => Math.max(0, s.stages[stage]! - (net ? (s.waitMs![stage] ?? 0) : 0)) * scale(s));
    const stalls = having.map((s) => stallOf(s, s.stallMs?.[stage], s.waitMs?.[stage]));
    rows.push(row(stage, baselineTimes(m, net), values, stalls, p.stageRel, p.stageAbsMs, p.stageSpreadK));
  }
  const totals = samples.map((s) => Math.max(0, s.totalMs - (net ? s.totalWaitMs! : 0)) * scale(s));
  const totalStalls = samples.map((s) => stallOf(s, s.totalStallMs, s.totalWaitMs));
  rows.push(row('total', baselineTimes(b.totalMs, net), totals, totalStalls, p.totalRel, p.totalAbsMs, p.totalSpreadK));
  return rows;
}

/** What shared the host with the boots, beyond their own lab: other labs' servers and guests. */
function company(samples: readonly BootSample[]): string | undefined {
  const labs = [...new Set(samples.flatMap((s) => s.otherLabs ?? []))].sort();
  const guests = Math.max(0, ...samples.map((s) => s.foreignGuests ?? 0));
  if (labs.length === 0 && guests === 0) return undefined;
  const l = labs.length ? `${labs.length} other lab${labs.length === 1 ? '' : 's'} (run ${labs.join(', ')}: server, NBD server, harness)` : '';
  const g = guests ? `${guests} QEMU guest${guests === 1 ? '' : 's'} of other runs at once` : '';
  return [l, g].filter(Boolean).join(' and ');
}

/** Reasons of an inconclusive verdict on boots that looked slower start so: more boots may settle them. */
export const SLOWER_BUT = 'slower';

/** Whether more boots could change a verdict: a stage looked slower, whoever is to blame. */
export function looksSlower(v: GateVerdict): boolean {
  return v.verdict === 'regression' || (v.verdict === 'inconclusive' && v.reason.startsWith(`${SLOWER_BUT} (`));
}

function configDifference(b: BootConfig, c: BootConfig): string | undefined {
  if (!sameClient(b.client, c.client)) return `the boots are of the ${clientLabel(c.client)} client, the baseline of the ${clientLabel(b.client)} client`;
  if (b.memoryMb !== c.memoryMb) return `the boots had ${c.memoryMb} MB, the baseline's ${b.memoryMb} MB`;
  if (b.nic !== c.nic) return `the boots had a ${c.nic} NIC, the baseline's a ${b.nic}`;
  return undefined;
}

/**
 * The gate's verdict on the boots of one client configuration. A stage (or the total)
 * regressed when its median, scaled by the guest speed factor, grew by more than its slack
 * (relative, absolute and the baseline's own spread, whichever is largest) and by more
 * than the host can explain: the share a host other than the baseline's may add, and the
 * host's CPU stall during the stage (other labs' servers, NBD servers, harnesses, guests).
 * Slower but within that is "inconclusive", with each bound and what shared the host. A
 * slower boot is blamed on the host too when the host differed from the baseline's:
 * guest speed factor, other work, more guests, or boots that disagree with each other. No
 * baseline is inconclusive too, never a failure.
 */
export function judgeBoots(input: JudgeInput): GateVerdict {
  const { profile, baseline: b, samples } = input;
  const p0 = input.policy ?? DEFAULT_GATE_POLICY;
  // A baseline recorded on this very machine needs no allowance for another host's I/O path.
  const p = b?.host !== undefined && b.host === input.host ? { ...p0, otherHostRel: 0 } : p0;
  const inconclusive = (reason: string, stages: StageVerdict[] = []): GateVerdict => ({ verdict: 'inconclusive', profile, reason, stages });
  if (!b) {
    return inconclusive(`no baseline for profile ${profile}: the ${clientLabel(input.config.client)} client has none on this kind of host (${input.baselineFile}); record one with ${['./lab baseline --update', ...clientSpecArgv(input.config.client)].join(' ')}`);
  }
  if (samples.length === 0) return inconclusive('no boot to judge');
  const config = configDifference(b.config, input.config);
  if (config) return inconclusive(`not comparable with the baseline: ${config}`);

  const rows = compareRows(b, samples, p);
  const stages: StageVerdict[] = rows.map(({ slackMs: _slack, slower: _w, otherHostMs: _o, stallMs: _t, ...r }) => r);
  const n = `${samples.length} boot${samples.length === 1 ? '' : 's'}`;
  const speed = median(samples.map((s) => s.speedFactor));
  const ratio = speed / b.speedFactor;
  if (ratio > p.speedRatioMax || ratio < 1 / p.speedRatioMax) {
    return inconclusive(`guest speed factor ${speed} against the baseline's ${b.speedFactor} (x${ratio.toFixed(2)}, beyond x${p.speedRatioMax}): scaling the times by it would be guesswork`, stages);
  }
  const slower = rows.filter((r) => r.slower);
  const total = rows.at(-1)!;
  const scaled = `guest speed ${speed} against the baseline's ${b.speedFactor}`;
  const beside = company(samples);
  const besideText = beside ? `; beside ${beside}` : '';
  if (slower.length === 0) {
    return { verdict: 'pass', profile, reason: `every stage within its slack over ${n}: total ${s1(total.measuredMs)} against ${s1(total.baselineMs)} (${signed(total.deltaMs)}; ${scaled}${besideText})`, stages };
  }
  const hostShare = (r: Row): string => (p.otherHostRel > 0 ? `${Math.round(p.otherHostRel * 100)} % for a host other than the baseline's ${s1(r.otherHostMs)}, ` : "the baseline's own host, ");
  const rowText = (r: Row): string => `${r.stage} ${signed(r.deltaMs)} (${s1(r.measuredMs)} against ${s1(r.baselineMs)}, slack ${s1(r.slackMs)})`;
  const stallKnown = samples.every((s) => s.totalStallMs !== undefined);
  const regressed = rows.filter((r) => r.regressed);
  if (regressed.length === 0 || (beside && !stallKnown)) {
    // The host can explain every stage that looked slower: a host other than the baseline's, and the time tasks waited for a CPU.
    const why = slower.map((r) => `${r.stage} by up to +${s1(r.slackMs + r.otherHostMs + r.stallMs)} (slack ${s1(r.slackMs)}, ${hostShare(r)}tasks waiting for a CPU ${stallKnown ? s1(r.stallMs) : 'not measured: no /proc/pressure/cpu'})`).join(', ');
    return inconclusive(`${SLOWER_BUT} (${slower.map(rowText).join(', ')}), but within what the host can explain: ${why}${besideText}; ${scaled}`, rows.map(({ slackMs: _s, slower: _w, otherHostMs: _o, stallMs: _t, ...r }) => ({ ...r, regressed: false })));
  }
  const what = regressed.map(rowText).join(', ');
  const load = median(samples.map((s) => s.otherLoad));
  if (load - b.otherLoad > p.otherLoadSlack) {
    return inconclusive(`${SLOWER_BUT} (${what}), but other work kept ${load.toFixed(2)} cores busy against the baseline's ${b.otherLoad.toFixed(2)}: the host, not the stack, may be to blame`, stages);
  }
  const guests = Math.max(...samples.map((s) => s.guestsAtOnce));
  if (guests > b.guestsAtOnce) {
    return inconclusive(`${SLOWER_BUT} (${what}), but ${guests} QEMU guests shared the host against the baseline's ${b.guestsAtOnce}: the host, not the stack, may be to blame`, stages);
  }
  const net = netOfWaits(b, samples);
  const totals = samples.map((s) => (s.totalMs - (net ? s.totalWaitMs! : 0)) * (b.speedFactor / s.speedFactor));
  if (samples.length > 1 && range(totals) > p.varyRel * total.baselineMs) {
    return inconclusive(`${SLOWER_BUT} (${what}), but the ${n} disagree: their totals span ${s1(range(totals))}, more than ${Math.round(p.varyRel * 100)} % of the baseline's ${s1(total.baselineMs)}`, stages);
  }
  const basis = net ? ', times less the guest\'s waits for a host CPU' : '';
  const beyond = regressed.map((r) => `${r.stage} ${s1(r.deltaMs - r.slackMs - r.otherHostMs - r.stallMs)}`).join(', ');
  return { verdict: 'regression', profile, reason: `slower than the baseline in the median of ${n}${basis}: ${what} (${scaled}${besideText}); beyond what the host can explain (${p.otherHostRel > 0 ? `${Math.round(p.otherHostRel * 100)} % for a host other than the baseline's, and ` : 'on the baseline\'s own host: '}the time tasks waited for a CPU) by ${beyond}`, stages };
}

/** The stages a verdict blames (not the total), slowest first. */
export function regressedStages(v: GateVerdict): string[] {
  return v.stages.filter((s) => s.regressed && s.stage !== 'total').sort((a, b) => b.deltaMs - a.deltaMs).map((s) => s.stage);
}

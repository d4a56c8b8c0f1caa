import type { ThinClient } from '../boot/thin-client';
import type { StartedLab } from '../lab/lab';
import { baselineProfile } from '../results/baseline';
import { makeBaseline } from './baseline';
import { hostId } from './host-id';
import { bootRound } from './gated-boot';
import type { Baseline, BootConfig, BootSample } from './types';

export interface RecordOptions {
  /** Boots to record; rounded up to whole rounds. */
  runs: number;
  clientsAtOnce: number;
  config: BootConfig;
  configure: (c: ThinClient) => ThinClient;
  progress?: (line: string) => void;
}

/**
 * Boots the unchanged stack `runs` times, `clientsAtOnce` at a time in a started lab,
 * and makes the baseline of this host's profile from them. A boot that fails throws:
 * a broken stack has no baseline.
 */
export async function recordBaseline(lab: StartedLab, opts: RecordOptions): Promise<Baseline> {
  const samples: BootSample[] = [];
  const rounds = Math.ceil(opts.runs / opts.clientsAtOnce);
  for (let r = 1; r <= rounds; r++) {
    const round = await bootRound(lab, opts.clientsAtOnce, `b${r}-`, opts.configure);
    samples.push(...round.samples);
    const totals = round.samples.map((s) => `${(s.totalMs / 1000).toFixed(1)} s${s.totalWaitMs === undefined ? '' : ` (${(s.totalWaitMs / 1000).toFixed(1)} s of it waiting for a CPU)`}`).join(', ');
    opts.progress?.(`baseline: round ${r} of ${rounds}: login after ${totals} (other load ${round.samples[0]?.otherLoad ?? '?'} cores, ${round.samples[0]?.guestsAtOnce ?? '?'} guests)`);
  }
  return makeBaseline(samples, { profile: baselineProfile(lab.speed, opts.config.client), clientsAtOnce: opts.clientsAtOnce, config: opts.config, host: hostId() });
}

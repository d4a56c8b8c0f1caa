import { LabError, type LabErrorOptions } from '../common/errors';
import { regressedStages } from './judge';
import type { GateVerdict } from './types';

/** The stack boots, but slower than its baseline: exit 6 (not 4, "broken"). */
export class RegressionError extends LabError {
  readonly kind = 'regression';
  /** The stages it blames, slowest first. */
  readonly stages: string[];

  constructor(
    readonly verdict: GateVerdict,
    opts: LabErrorOptions = {},
  ) {
    const stages = regressedStages(verdict);
    super(`boot-time regression against baseline ${verdict.profile}${stages.length ? ` in stage ${stages.join(', ')}` : ''}: ${verdict.reason}`, opts);
    this.stages = stages;
  }
}

import { UsageError } from '../common/errors';
import { bootStages } from './stages';

/**
 * The kernel argument our dracut module reads to slow a boot stage on purpose
 * (vm-images/client/dracut/90ltsp-union/ltsp-test-delay.sh): the proof that the
 * regression gate catches a slower stage and names it.
 */
export const TEST_DELAY_ARG = 'ltsp.test.delay';

/** No sane test sleeps longer; a typo of 200 for 20 should not hold a CI run. */
const MAX_DELAY_S = 120;

export interface StageDelay {
  /** A boot stage id (boot/stages.ts); the module says which of them it can slow. */
  stage: string;
  seconds: number;
}

/** `ltsp.test.delay=nbd:20,union:8` */
export function testDelayArg(delays: readonly StageDelay[]): string {
  return `${TEST_DELAY_ARG}=${delays.map((d) => `${d.stage}:${d.seconds}`).join(',')}`;
}

/**
 * Reads the value of ltsp.test.delay= (what follows the '='). A stage must be one the
 * harness times; whether the module has a hook for it the module itself says, by failing
 * the boot at once (one list of hooked stages, in the module).
 */
export function parseTestDelay(value: string): StageDelay[] {
  const ids: readonly string[] = bootStages().map((s) => s.id);
  if (value === '') throw new UsageError(`${TEST_DELAY_ARG}= is empty`, { hint: `e.g. ${TEST_DELAY_ARG}=nbd:20` });
  return value.split(',').map((item) => {
    const m = /^([a-z-]+):(\d+(?:\.\d+)?)$/.exec(item);
    if (!m) throw new UsageError(`${TEST_DELAY_ARG}: '${item}' is not STAGE:SECONDS`, { hint: `e.g. ${TEST_DELAY_ARG}=nbd:20,union:8` });
    const [, stage, secs] = m as unknown as [string, string, string];
    if (!ids.includes(stage)) throw new UsageError(`${TEST_DELAY_ARG}: '${stage}' is not a boot stage`, { hint: `stages: ${ids.join(', ')}` });
    const seconds = Number(secs);
    if (seconds <= 0 || seconds > MAX_DELAY_S) throw new UsageError(`${TEST_DELAY_ARG}: ${seconds} s for '${stage}' is out of range: give more than 0 and at most ${MAX_DELAY_S} s`);
    return { stage, seconds };
  });
}

import { UsageError } from '../harness/index';

/** ./lab bench: see issue #5. */
export async function bench(_argv: string[], _running: Set<{ stop(): Promise<unknown> }>): Promise<number> {
  throw new UsageError('./lab bench is not built yet');
}

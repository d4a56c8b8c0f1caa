import { UsageError } from '../harness/index';

/** ./lab bench: see issue #5. */
export async function bench(_argv: string[]): Promise<number> {
  throw new UsageError('./lab bench is not built yet');
}

/** One boot at a given -m. */
export interface MemoryTry {
  mb: number;
  ok: boolean;
  /** The stage it failed at, when it did. */
  failedStage?: string;
  error?: string;
  /** When it reached login, ms since QEMU start. */
  loginMs?: number;
}

export interface MemorySearch {
  /** The smallest -m that reached login; undefined when even the largest did not. */
  smallest?: number;
  /** The largest -m tried that did not (the one just below `smallest`, if tried). */
  largestFailing?: MemoryTry;
  tries: MemoryTry[];
}

export interface MemorySearchOptions {
  /** Largest -m, MB (e.g. 384). */
  from: number;
  /** Smallest -m worth trying, MB (e.g. 128). */
  to: number;
  /** Granularity, MB (e.g. 32). */
  step: number;
  /** A boot already made at `from`, so it need not be repeated. */
  atFrom?: MemoryTry;
  /** Boots a client at `mb` and says whether it reached login. Called one at a time. */
  probe: (mb: number) => Promise<MemoryTry>;
}

/**
 * The smallest -m on the grid from, from − step, ... down to `to` at which a client
 * boots to login, by bisection: a boot needs more memory than it can get below some
 * size, so success is monotonic in -m. log2(grid) boots instead of one per step.
 */
export async function smallestBootingMemory(opts: MemorySearchOptions): Promise<MemorySearch> {
  if (opts.step <= 0 || opts.to > opts.from) throw new RangeError(`bad memory grid: from ${opts.from} to ${opts.to} step ${opts.step}`);
  const grid: number[] = [];
  for (let mb = opts.from; mb >= opts.to; mb -= opts.step) grid.unshift(mb);
  const tries: MemoryTry[] = [];
  const probe = async (i: number): Promise<MemoryTry> => {
    const t = await opts.probe(grid[i] as number);
    tries.push(t);
    return t;
  };
  let hi = grid.length - 1;
  const top = opts.atFrom ?? (await probe(hi));
  if (!top.ok) return { tries, largestFailing: top };
  let lo = -1;
  let failing: MemoryTry | undefined;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const t = await probe(mid);
    if (t.ok) hi = mid;
    else {
      lo = mid;
      failing = t;
    }
  }
  return { smallest: grid[hi] as number, ...(failing ? { largestFailing: failing } : {}), tries };
}

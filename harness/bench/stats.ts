import type { MetricSpec, MetricSummary } from './types';

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Min, median (mean of the middle two for an even count) and max; undefined for no values. */
export function spread(values: readonly number[]): Spread | undefined {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number };
}

/** a / b, or undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return undefined;
  return a / b;
}

/**
 * Values of each metric across runs. Runs record what they measured; a run that
 * failed half-way simply records less.
 */
export class MetricRecorder {
  private readonly values = new Map<string, number[]>();

  /** Records one run's value; undefined (not measured) is skipped. */
  add(id: string, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    const list = this.values.get(id) ?? [];
    list.push(value);
    this.values.set(id, list);
  }

  get(id: string): number[] {
    return [...(this.values.get(id) ?? [])];
  }

  /** The metrics in `specs` order, each with its spread and whether its median meets the target. */
  summarize(specs: readonly MetricSpec[]): MetricSummary[] {
    return specs.map((spec) => {
      const values = this.get(spec.id);
      const s = spread(values);
      return {
        ...spec,
        values,
        ...(s ?? {}),
        ...(s && spec.target ? { met: s.median <= spec.target.max } : {}),
      };
    });
  }
}

import { spread } from '../common/spread';
import type { MetricSpec, MetricSummary } from './types';

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

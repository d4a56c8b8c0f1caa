import type { BootStageId } from '../results/stage-ids';
import type { StageMark } from '../results/types';

/** A span between two stage ids; null is QEMU start. */
type Span = readonly [from: BootStageId | null, to: BootStageId];

export interface SegmentDef {
  id: string;
  label: string;
  lab: Span;
  /** Absent where a bare boot has no such step (it is then 0 s for bare). */
  bare?: Span;
}

/**
 * The lab's boot cut at the stages both boots share, so that the segments add up to the
 * time to login on each side, and so their differences add up to lab − bare.
 */
export const CHAIN_SEGMENTS: readonly SegmentDef[] = [
  { id: 'firmware-dhcp', label: 'firmware + DHCP (QEMU start → lease)', lab: [null, 'dhcp'] },
  { id: 'fetch', label: 'kernel + initramfs over HTTP (lease → fetched)', lab: ['dhcp', 'fetched'] },
  { id: 'handoff', label: 'kernel load (fetched → kernel; bare: QEMU start → kernel)', lab: ['fetched', 'kernel'], bare: [null, 'kernel'] },
  { id: 'kernel', label: 'kernel → initramfs start', lab: ['kernel', 'initramfs'], bare: ['kernel', 'initramfs'] },
  { id: 'root', label: 'root: NBD connect + mount (bare: local virtio disk)', lab: ['initramfs', 'root'], bare: ['initramfs', 'root'] },
  { id: 'union', label: 'union or not (root mounted → switch_root)', lab: ['root', 'switch-root'], bare: ['root', 'switch-root'] },
  { id: 'userspace', label: 'userspace (switch_root → login)', lab: ['switch-root', 'login'], bare: ['switch-root', 'login'] },
];

/** ms of a span of a timeline, or undefined when a stage is missing. */
export function spanMs(marks: readonly StageMark[], [from, to]: Span): number | undefined {
  const at = (id: BootStageId | null): number | undefined => (id === null ? 0 : marks.find((m) => m.stage === id)?.t);
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined ? undefined : b - a;
}

export interface SegmentTimes {
  id: string;
  label: string;
  labMs?: number;
  bareMs?: number;
  /** lab − bare. */
  diffMs?: number;
}

/** Each segment's time in a lab boot and a bare boot of the same kernel and root. */
export function chainSegments(lab: readonly StageMark[], bare: readonly StageMark[]): SegmentTimes[] {
  return CHAIN_SEGMENTS.map((s) => {
    const labMs = spanMs(lab, s.lab);
    const bareMs = s.bare ? spanMs(bare, s.bare) : 0;
    return {
      id: s.id,
      label: s.label,
      ...(labMs === undefined ? {} : { labMs }),
      ...(bareMs === undefined ? {} : { bareMs }),
      ...(labMs === undefined || bareMs === undefined ? {} : { diffMs: labMs - bareMs }),
    };
  });
}

/** When the timeline saw login, ms since QEMU start. */
export function loginMs(marks: readonly StageMark[]): number | undefined {
  return marks.find((m) => m.stage === 'login')?.t;
}

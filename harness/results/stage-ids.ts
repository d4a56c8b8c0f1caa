/**
 * The boot stages' ids, in boot order: the one list. boot/stages.ts gives each its
 * console pattern and budget (and its tests hold it to this order); the report's
 * colours (stage-kinds.ts), bench's chain segments, the gate, ltsp.test.delay and the
 * CLI name stages by these. Here, below boot/, because the results model records them.
 */
export const BOOT_STAGE_IDS = ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'union', 'switch-root', 'system', 'login'] as const;

export type BootStageId = (typeof BOOT_STAGE_IDS)[number];

/** A boot stage, or dracut's emergency shell that a kept client reaches after a failure (boot/stages.ts RESCUE_SHELL). */
export type StageId = BootStageId | 'rescue';

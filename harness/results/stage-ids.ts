import type { ClientStack } from '../client/client-spec';

/**
 * The boot stages' ids, in boot order: the one list per stack. boot/stages.ts gives each
 * its console pattern and budget (and its tests hold it to these lists); the report's
 * colours (stage-kinds.ts), bench's chain segments, the gate, the fault grammar,
 * ltsp.test.delay and the CLI name stages by these. Here, below boot/, because the
 * results model records them.
 */
export const STACK_STAGE_IDS = {
  // The k12 stack (the seed's chain): dracut, an ext4 NBD root, the unionfs-fuse union.
  k12: ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'union', 'switch-root', 'system', 'login'],
  // LTSP 23's chain (docs/ltsp23-lane.md): the k12 stack's ids where the step is the same,
  // LTSP's own (its initrd-bottom's overlay, `ltsp init` as PID 1) where it is not.
  ltsp23: ['ipxe', 'dhcp', 'fetched', 'kernel', 'initramfs', 'nbd', 'root', 'ltsp-overlay', 'ltsp-init', 'system', 'login'],
} as const satisfies Record<ClientStack, readonly string[]>;

/** The k12 stack's stages: what every client of the k12 stack, of every kind, passes. */
export const BOOT_STAGE_IDS = STACK_STAGE_IDS.k12;

/** A stage of any stack. */
export type BootStageId = (typeof STACK_STAGE_IDS)[ClientStack][number];

/** Every stack's stage ids, each once: the k12 stack's, then each other stack's own. */
export const ALL_STAGE_IDS: readonly BootStageId[] = [...new Set(Object.values(STACK_STAGE_IDS).flat())];

/**
 * The user's session after the login prompt: a stage of a boot with a login only
 * (./lab boot --login USER; boot/stages.ts sessionStage), on every stack that has one.
 */
export const SESSION_STAGE_ID = 'session';

/**
 * A boot stage, dracut's emergency shell that a kept client reaches after a failure
 * (boot/stages.ts RESCUE_SHELL), or a logged-in user's session (SESSION_STAGE_ID).
 */
export type StageId = BootStageId | 'rescue' | typeof SESSION_STAGE_ID;

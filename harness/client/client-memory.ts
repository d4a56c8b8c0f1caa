/**
 * A thin client's RAM, MB: what ./lab boot, bisect and bench give it by default, and the
 * range the lab lets a person choose. The floor is the smallest a client of this kernel
 * and initramfs boots in, with room (the bench memory case searches down to it); the
 * QEMU layer's own check (QemuMachine.withMemory) is only what QEMU itself takes.
 */
export const CLIENT_MEMORY_MB = { min: 128, default: 384, max: 8192 } as const;

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { UsageError } from './errors';

/**
 * What one QEMU client costs beyond its guest RAM: the TCG translation cache
 * (-accel tcg,tb-size=256) plus QEMU's own heap, measured ~350 MiB here.
 */
export const QEMU_OVERHEAD_MB = 400;
/** The server container and the harness itself. */
const LAB_BASE_MB = 300;

export function memAvailableMb(meminfo = readFileSync('/proc/meminfo', 'utf8')): number {
  const m = /MemAvailable:\s+(\d+) kB/.exec(meminfo);
  if (!m) throw new Error('no MemAvailable in /proc/meminfo');
  return Math.floor(Number(m[1]) / 1024);
}

/** How many clients of `memoryMb` fit in `availableMb`. */
export function clientsThatFit(memoryMb: number, availableMb: number): number {
  return Math.max(0, Math.floor((availableMb - LAB_BASE_MB) / (memoryMb + QEMU_OVERHEAD_MB)));
}

/** Refuses up front, and says how many fit, when the clients would not fit in memory. */
export function checkClientsFit(clients: number, memoryMb: number, availableMb = memAvailableMb()): void {
  const fit = clientsThatFit(memoryMb, availableMb);
  if (clients > fit) {
    const need = LAB_BASE_MB + clients * (memoryMb + QEMU_OVERHEAD_MB);
    throw new UsageError(
      `${clients} client(s) of ${memoryMb} MB need about ${need} MiB (guest RAM + ${QEMU_OVERHEAD_MB} MiB QEMU each + ${LAB_BASE_MB} MiB lab); ${availableMb} MiB is available: at most ${fit} fit`,
      { hint: `use --clients ${fit} or a smaller --memory` },
    );
  }
}

/**
 * How much slower each boot runs when `clients` TCG guests share `cores`: 1 up to one
 * guest per core, then the square of the overcommit. Measured here (2 cores): with 4
 * clients each guest took ~2.3x the CPU seconds of a lone boot on top of getting half a
 * core, and its slowest stages ran 5-8x slower than alone; the linear share (2x) would
 * time such boots out. Boot budgets are multiplied by it.
 */
export function contentionFactor(clients: number, cores = availableParallelism()): number {
  const over = clients / Math.max(1, cores);
  return over <= 1 ? 1 : over * over;
}

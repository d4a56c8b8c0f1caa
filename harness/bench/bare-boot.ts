import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { followStages } from '../boot/follow-stages';
import { SERIAL_CONSOLE_ARG } from '../boot/kernel-args';
import { UNION_ARGS } from '../boot/union-method';
import { clientSpec, type UnionMethod } from '../client/client-spec';
import { bareBootStages, bootBudgetMs, stageBudgetMs } from '../boot/stages';
import { stepDeadline } from '../common/run-deadline';
import type { HostSpeed } from '../common/speed';
import { trackStoppable } from '../common/teardown';
import { labMachine, startQemu, stopQemu } from '../qemu/lab-qemu';
import { rssKb } from '../qemu/proc-metrics';
import type { StageMark } from '../results/types';

export interface BareBootSpec {
  /** QEMU -name and the report sub-folder. */
  name: string;
  kernel: string;
  initrd: string;
  /** The client root (bare ext4), attached read-only as a virtio disk. */
  rootImage: string;
  union: UnionMethod;
  memoryMb?: number;
  /** Where the pid file and QMP socket go: a registered run's state folder, so a crash is reaped. */
  stateDir: string;
  /** console.log and qmp.log go to <reportDir>/<name>/. */
  reportDir: string;
  speed: HostSpeed;
}

export interface BareBoot {
  marks: StageMark[];
  /** QEMU's RSS at login, KiB. */
  rssKb?: number;
  consoleLog: string;
}

/** The kernel command line of a bare boot: the lab's, with a local disk for the NBD root. */
export function bareAppend(union: UnionMethod): string {
  return ['root=/dev/vda', 'ro', SERIAL_CONSOLE_ARG, ...UNION_ARGS[union]].join(' ');
}

/**
 * Boots the lab's kernel and initramfs with bare QEMU (-kernel/-initrd, root=/dev/vda
 * on a read-only virtio disk, no NIC), follows it to login with bareBootStages, and
 * stops it. The limit the lab's chain is measured against. Throws BootStageError like a
 * lab boot; QEMU is stopped either way.
 */
export async function bootBare(spec: BareBootSpec): Promise<BareBoot> {
  const dir = join(spec.reportDir, spec.name);
  mkdirSync(dir, { recursive: true });
  const consoleLog = join(dir, 'console.log');
  const stages = bareBootStages({ client: clientSpec({ union: spec.union }) });
  const deadline = stepDeadline(bootBudgetMs(stages, spec.speed), `bare boot of ${spec.name}`);
  const machine = labMachine(spec.name, join(spec.stateDir, spec.name))
    .withAccel(spec.speed.accel)
    .withMemory(spec.memoryMb ?? 384)
    .withDirectKernel({ kernel: spec.kernel, initrd: spec.initrd, append: bareAppend(spec.union) })
    .withDisk({ path: spec.rootImage, readOnly: true, iface: 'virtio' })
    .withConsoleLog(consoleLog)
    .withQmpLog(join(dir, 'qmp.log'));
  const qemu = await startQemu(machine, deadline);
  trackStoppable(qemu, true);
  let stopping = false;
  try {
    const marks = await followStages(qemu, stages, {
      deadline,
      budgetMs: (s) => stageBudgetMs(s, spec.speed),
      stopping: () => stopping,
      consoleLogFile: consoleLog,
    });
    const rss = rssKb(qemu.pid);
    return { marks, ...(rss === null ? {} : { rssKb: rss }), consoleLog };
  } finally {
    stopping = true;
    await stopQemu(qemu);
    trackStoppable(qemu, false);
  }
}

/**
 * qemu-ts-wrapper's public face: a QEMU machine (builder and started handle), its QMP
 * client, its serial console and the process group it runs in. What a caller makes of
 * the errors is the caller's business: it matches on their classes.
 */
export { ConsoleLog, type ConsoleLine, type ConsoleLogOptions, type ConsoleMatch, type FailPattern, type WaitOptions } from './src/console-log';
export { ConsoleRelay, SCROLLBACK_BYTES, type ConsoleInput } from './src/console-relay';
export { Deadline } from './src/deadline';
export {
  ConsoleLogError,
  ConsoleWaitError,
  DeadlineError,
  formatTail,
  LaunchError,
  ProcessStuckError,
  QemuConfigError,
  QemuWrapperError,
  QmpError,
  TAIL_LINES,
  type ConsoleWaitReason,
} from './src/errors';
export { setDebugPrefix } from './src/log';
export { ProcessGroup, type ExitStatus, type SpawnSpec, type SpawnWatcher, type TerminateStep } from './src/process-group';
export { DEFAULT_QEMU_BINARY, netdevId, QemuMachine, type Accel, type DirectKernel, type DiskSpec, type NicSpec } from './src/qemu-machine';
export { StartedQemuMachine, type StopOptions, type StopStep } from './src/started-qemu-machine';
export { QmpClient, type QmpConnectOptions, type QmpEvent, type QmpStatus } from './src/qmp-client';

/**
 * ltsp-lab's public face: scenarios and the CLI import from here only.
 */
export { Deadline } from './common/deadline';
export * from './common/errors';
export { execCommand } from './common/exec';
export { checkClientsFit, clientsThatFit, memAvailableMb } from './common/host-resources';
export { log } from './common/log';
export { LAB_LABEL, OWNER_LABEL, RUN_LABEL, RunContext, ownerAlive } from './common/run-context';
export { measureHostSpeed, type HostSpeed } from './common/speed';
export { ConsoleLog, type ConsoleLine, type ConsoleMatch, type FailPattern } from './console/console-log';
export { DEFAULT_FAIL_PATTERNS } from './console/fail-patterns';
export { ProcessGroup } from './process/process-group';
export { QmpClient, type QmpEvent } from './qmp/qmp-client';
export { QemuMachine, StartedQemuMachine, type StopStep } from './qemu/qemu-machine';
export { LabNetwork, StartedLabNetwork } from './network/lab-network';
// Types only: the server module loads testcontainers (~1 s of module loading), which the
// lab requires while its first child processes run (see Lab.start).
export type { LtspServerContainer, StartedLtspServer, ServedImages } from './server/ltsp-server';
export { buildImages, checkServedImages, imageKeys, isExt4Image, readManifest, VM_IMAGES_DIR, type ImageManifest } from './images/image-set';
export { bareBootStages, bootStages, BOOT_FAIL_PATTERNS, SHELL_PROMPT, type StageDef } from './boot/stages';
export { followStages, type FollowStagesOptions, type StageSource } from './boot/follow-stages';
export { clientScript, kernelArgs, validateAppend } from './boot/kernel-args';
export { ThinClient, StartedThinClient, type CommandResult } from './boot/thin-client';
export { Lab, StartedLab, REPORTS_ROOT } from './lab/lab';
export { NbdPeer, NbdCommandError, NbdConnectError, NbdRefusedError } from './nbd/nbd-peer';
export { formatTimelineTable } from './report/timeline-table';
export { renderHtmlReport, writeHtmlReport } from './report/html-report';
export type { ClientTimeline, RunReport, StageMark } from './report/types';
export { ConsoleRelay } from './console/console-relay';
export { reap, type ReapReport } from './common/reaper';
export { stateRoot } from './common/run-context';
export { installSignalTeardown, killAllGroups, stopAll, trackStoppable } from './common/teardown';
export { runDeadline, stepDeadline } from './common/run-deadline';
export { BENCH_CASES, DEFAULT_BENCH_CASES, benchExitCode, runBench, type BenchOptions } from './bench/bench-runner';
export { formatBenchReport } from './bench/bench-table';
export { bareAppend, bootBare, type BareBoot, type BareBootSpec } from './bench/bare-boot';
export type { BenchReport, CaseResult, MetricSummary } from './bench/types';
export { labScript, repoRoot } from './common/paths';
export { ensureWritableDir } from './common/writable-dir';

/**
 * ltsp-lab's public face: scenarios and the CLI import from here only.
 */
export { Deadline } from './common/deadline';
export * from './common/errors';
export { execCommand } from './common/exec';
export { checkClientsFit, clientsThatFit, memAvailableMb } from './common/host-resources';
export { log } from './common/log';
export { ARTEFACT_LABEL, LAB_LABEL, OWNER_LABEL, RUN_LABEL, RunContext, ownerAlive, processStartTime } from './common/run-context';
export { hostSpeed, calibrateCpu, type Accel, type AccelChoice, type HostSpeed } from './common/speed';
export { chooseAccel, decideHostSpeed, accelCacheFile, type AccelDecision } from './accel/accel-choice';
export { inspectKvmDevice, kvmDevicePath } from './accel/kvm-device';
export { budgetMs, scaledMs, STEP_BUDGETS, type StepKind } from './common/budgets';
export { ConsoleLog, type ConsoleLine, type ConsoleMatch, type FailPattern } from './console/console-log';
export { DEFAULT_FAIL_PATTERNS } from './console/fail-patterns';
export { QmpClient, type QmpEvent } from './qmp/qmp-client';
export { QemuMachine, StartedQemuMachine, type StopStep } from './qemu/qemu-machine';
export { hostInSubnet, inSubnet, LAB_HOSTS, LabNetwork, StartedLabNetwork } from './network/lab-network';
export { hostGuardComment, hostGuardLeftovers } from './network/host-guard';
// Types only: the server module loads testcontainers (~1 s of module loading), which the
// lab requires while its first child processes run (see Lab.start).
export type { LtspServerContainer, StartedLtspServer, ServedImages, ServerFile } from './server/ltsp-server';
export { ltsp23ServedPaths, ROOT_BOOT_PATHS, servedBootPaths, TFTP_ROOT, type BootFiles } from './server/boot-files';
export {
  CLIENT_DIMENSIONS,
  CLIENT_KINDS,
  clientKey,
  clientLabel,
  clientSpec,
  DEFAULT_CLIENT_SPEC,
  describeClientValues,
  parseClientValue,
  sameClient,
  type ClientKind,
  type ClientSpec,
} from './client/client-spec';
export { parseServerInit, serviceCommand, SERVER_INITS, type ServerInit, type ServiceAction } from './server/server-init';
export { buildImages, cacheDir, clientImages, manifestClients, type ClientImages, ensureImages, isIdleBuildLine, checkServedImages, imageKeys, isExt4Image, readManifest, VM_IMAGES_DIR, type ImageManifest } from './images/image-set';
export { checkRootHash, sha256File, type Rebuildable } from './images/cache-check';
export { bareBootStages, bootPoints, type PointDef, bootStages, BOOT_FAIL_PATTERNS, RESCUE_PROMPT, RESCUE_SHELL, SHELL_PROMPT, type StageDef } from './boot/stages';
export { followStages, type FollowStagesOptions, type StageSource } from './boot/follow-stages';
export { clientScript, DHCP_ROOT_ARG, kernelArgs, rootFromDhcp, RESCUE_ARGS, RESCUE_RETRY_S, validateAppend, validateRootArg, validateRootPath, ROOT_PLACEHOLDERS } from './boot/kernel-args';
export { checkExport, ThinClient, StartedThinClient, type ClientState, type CommandResult } from './boot/thin-client';
export { Lab, StartedLab, REPORTS_ROOT } from './lab/lab';
export { listRuns, pickRun, readRunFile, RUN_FILE, type RunEntry, type RunFileClient, type RunFileData } from './lab/run-file';
export { RunPublisher } from './lab/run-publisher';
export { NbdPeer, NbdCommandError, NbdConnectError, NbdRefusedError } from './nbd/nbd-peer';
export { formatTimelineTable } from './report/timeline-table';
export { REPORT_FILES, writeRunReport } from './report/run-report';
export { BootRunReport } from './report/boot-run-report';
export { TestRunReport } from './report/test-run-report';
export { LogSlicer } from './report/log-slices';
export { startedClientResult } from './report/lab-results';
export { errorFacts, readConsoleLog } from './report/run-facts';
export { resultsSchemaErrors } from './report/results-schema';
export { formatReportDiff, readRunResults, resolveRunDir } from './report/run-diff';
export type { ClientResult, ClientTimeline, FaultMark, PointMark, RunResults, StageMark, TestResult } from './report/types';
export { attachConsole, type AttachEnd } from './console/console-attach';
export { DETACH_HINT } from './console/detach-key';
export { Terminal, StartedTerminal, type TerminalExit } from './terminal/terminal';
export { reap, type ReapReport } from './common/reaper';
export { stateRoot } from './common/run-context';
export { checkStateRoot, RUN_MARKER, runMarkerText } from './common/state-root';
export { installSignalTeardown, interceptSignal } from './common/teardown';
export { runDeadline, stepDeadline } from './common/run-deadline';
export { BENCH_CASES, DEFAULT_BENCH_CASES, benchExitCode, runBench, type BenchOptions } from './bench/bench-runner';
export { formatBenchReport } from './bench/bench-table';
export { bareAppend, bootBare, type BareBoot, type BareBootSpec } from './bench/bare-boot';
export type { BenchReport, CaseResult, MetricSummary } from './bench/types';
export { FIXTURES_DIR, labScript, repoRoot } from './common/paths';
export { checkFreeSpace, checkWritableDir, ensureWritableDir, removeIfEmpty } from './common/writable-dir';
export { describeLeftovers, runLeftovers } from './common/run-leftovers';
export { baselinePath, baselinesDir, checkBaselines, loadBaseline, makeBaseline, shownPath, writeBaseline } from './gate/baseline';
export { baselineProfile } from './report/baseline';
export { bootRound, gateBoots, gateRun, sampleBoots, type BootRound, type GateResult, type GateRunOptions } from './gate/gated-boot';
export { judgeBoots, regressedStages } from './gate/judge';
export { DEFAULT_GATE_POLICY, type GatePolicy } from './gate/policy';
export { recordBaseline } from './gate/record-baseline';
export { RegressionError } from './gate/regression-error';
export { formatVerdict } from './gate/verdict-table';
export type { Baseline, BootConfig, BootSample, GateVerdict } from './gate/types';
export { parseTestDelay, testDelayArg, TEST_DELAY_ARG, type StageDelay } from './boot/test-delay';
export { budgetStretch, FAULT_KINDS, parseFault, parseFaults, type FaultKind, type FaultSpec } from './fault/fault-spec';
export { sourceCommit } from './report/source-commit';
export type { ShardRef, SuiteFileTime, TestSelection } from './report/types';
export { partitionFiles, type Shard } from './shard/partition';
export { DURATIONS_FILE, durationsFile, defaultFileMs, durationsFromResults, readDurations, writeDurations, type TestDurations } from './shard/durations';
export { E2E_SUFFIX, e2eFiles, parseShard, planSelection, planTestRun, validateGrep, type TestArgs, type TestPlan } from './shard/test-plan';
export { DEFAULT_TIER, parseTier, TIERS, tierGrep, tierOfTitle, tierTag, type Tier } from './shard/tiers';
export { mergeRuns, readMergeInputs, writeMergedReport, type MergeInput } from './report/merge-runs';
export { runBisect, bisectRange, type BisectRun, type BisectRunOptions } from './bisect/bisect-run';
export type { Criterion as BisectCriterion } from './bisect/criterion';
export type { BisectOutcome, Verdict as BisectVerdict } from './bisect/bisect-search';
export { formatFaultEvents, probeCommand, runFaults, type FaultEvent, type FaultOutcome, type FaultTargets } from './fault/fault-run';

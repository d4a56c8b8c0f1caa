/**
 * ltsp-lab's public face: what scenarios and the CLI use (the builders, the started
 * handles, the errors and the types they name), and nothing of the plumbing. The QEMU
 * layer is the qemu-ts-wrapper package; its errors are re-exported with the lab's.
 */

export { Deadline } from './common/deadline';
export { BootStageError, ConsoleLogError, ConsoleWaitError, DeadlineError, errorKind, exitCodeOf, HarnessError, isKnownError, LabError, LaunchError, QemuConfigError, QemuWrapperError, QmpError, SetupError, SutError, UsageError, type ErrorKind } from './common/errors';
export { execCommand } from './common/exec';
export { checkClientsFit } from './common/host-resources';
export { ARTEFACT_LABEL, LAB_LABEL, OWNER_LABEL, RUN_LABEL, RunContext, ownerAlive, processStartTime } from './common/run-context';
export { hostSpeed } from './common/speed';
export { chooseAccel, type AccelDecision } from './accel/accel-choice';
export { inspectKvmDevice, kvmDevicePath } from './accel/kvm-device';
export { budgetMs } from './common/budgets';
export { hostInSubnet, inSubnet, LAB_HOSTS, LabNetwork } from './network/lab-network';
export { hostGuardLeftovers } from './network/host-guard';
// Types only: the server module loads testcontainers (~1 s of module loading), which the
// lab requires while its first child processes run (see Lab.start).
export type { ServerFile } from './server/ltsp-server';
export { ROOT_EXPORT, servedBootPaths } from './server/boot-files';
export { CLIENT_DIMENSIONS, CLIENT_KINDS, clientKey, clientLabel, clientSpec, DEFAULT_CLIENT_SPEC, describeClientValues, type ClientKind, type ClientSpec } from './client/client-spec';
export { parseServerInit, type ServerInit } from './server/server-init';
export { buildImages, cacheDir, clientImages, ensureImages, isIdleBuildLine, imageKeys, readManifest, VM_IMAGES_DIR, type ImageManifest } from './images/image-set';
export { sha256File, type Rebuildable } from './images/cache-check';
export { bootStages, RESCUE_PROMPT } from './boot/stages';
export { clientScript, DHCP_ROOT_ARG, kernelArgs, rootFromDhcp, validateAppend, validateRootArg, validateRootPath } from './boot/kernel-args';
export { RESCUE_ARGS, RESCUE_RETRY_S } from './boot/rescue-shell';
export type { BootStageId } from './results/stage-ids';
export { CLIENT_MEMORY_MB } from './client/client-memory';
export { checkExport, ThinClient, StartedThinClient, type ClientState, type CommandResult } from './boot/thin-client';
export { Lab, StartedLab, REPORTS_ROOT } from './lab/lab';
export { listRuns, pickRun, readRunFile, type RunEntry, type RunFileData } from './lab/run-file';
export { RunPublisher } from './lab/run-publisher';
export { NbdPeer, NbdCommandError, NbdRefusedError } from './nbd/nbd-peer';
export { formatTimelineTable } from './report/timeline-table';
export { writeRunReport } from './report/run-report';
export { readRunResults, REPORT_FILES, resolveRunDir } from './results/results-file';
export { BootRunReport } from './report/boot-run-report';
export { TestRunReport } from './report/test-run-report';
export { LogSlicer } from './results/log-slices';
export { startedClientResult } from './report/lab-results';
export { errorFacts, readConsoleLog } from './results/run-facts';
export { resultsSchemaErrors } from './results/results-schema';
export { formatReportDiff } from './report/run-diff';
export type { ClientResult, ClientTimeline, RunResults, StageMark, TestResult } from './results/types';
export { attachConsole } from './console/console-attach';
export { Terminal, StartedTerminal } from './terminal/terminal';
export { reap } from './lab/reaper';
export { stateRoot } from './common/run-context';
export { checkStateRoot, RUN_MARKER, runMarkerText } from './common/state-root';
export { installSignalTeardown, interceptSignal } from './common/teardown';
export { stepDeadline } from './common/run-deadline';
export { BENCH_CASES, DEFAULT_BENCH_CASES, benchExitCode, runBench } from './bench/bench-runner';
export { formatBenchReport } from './bench/bench-table';
export type { BenchReport } from './bench/types';
export { FIXTURES_DIR, labScript, repoRoot } from './common/paths';
export { checkWritableDir, removeIfEmpty } from './common/writable-dir';
export { describeLeftovers, runLeftovers } from './lab/run-leftovers';
export { baselinesDir, checkBaselines, loadBaseline, shownPath, writeBaseline } from './gate/baseline';
export { baselineProfile } from './results/baseline';
export { gateBoots, type GateResult } from './gate/gated-boot';
export { DEFAULT_GATE_POLICY } from './gate/policy';
export { recordBaseline } from './gate/record-baseline';
export { RegressionError } from './gate/regression-error';
export { formatVerdict } from './gate/verdict-table';
export type { Baseline, BootConfig, GateVerdict } from './gate/types';
export { testDelayArg } from './boot/test-delay';
export { budgetStretch, parseFault, parseFaults, type FaultSpec } from './fault/fault-spec';
export { sourceCommit } from './results/source-commit';
export type { TestSelection } from './results/types';
export { durationsFile, defaultFileMs, durationsFromResults, readDurations, writeDurations, type TestDurations } from './shard/durations';
export { e2eFiles, parseShard, planSelection, planTestRun, validateGrep, type TestArgs, type TestPlan } from './shard/test-plan';
export { parseTier, TIERS, tierOfTitle } from './shard/tiers';
export { readMergeInputs, writeMergedReport } from './report/merge-runs';
export { runBisect } from './bisect/bisect-run';
export type { Criterion as BisectCriterion } from './bisect/criterion';
export { formatFaultEvents, probeCommand, runFaults, type FaultEvent, type FaultOutcome, type FaultTargets } from './fault/fault-run';
export { ClientFaults } from './fault/client-faults';
export { DEFAULT_TRACE, readTrace, checkTraceKey, type Trace } from './storm/trace';
export { recordBoot } from './storm/record-boot';
export { runStorm, checkStormFits, type StormResult } from './storm/storm';
export { countEstablished } from './storm/server-stats';
export { replayClient, type ReplayResult } from './storm/replay-client';
export type { PlannedRead } from './storm/replay-plan';
export { stormPage } from './storm/storm-page';
export { formatStorm } from './storm/storm-table';

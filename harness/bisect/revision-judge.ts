import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StartedThinClient, ThinClient } from '../boot/thin-client';
import { budgetMs } from '../common/budgets';
import { SutError } from '../common/errors';
import { RunContext } from '../common/run-context';
import { stepDeadline } from '../common/run-deadline';
import { buildStepOutcomes, BUILD_STEPS, type BuildStep, type StepOutcome } from '../bench/build-steps';
import { gateBoots } from '../gate/gated-boot';
import type { BootConfig } from '../gate/types';
import { ensureImages, imageKeys, ImageBuildError, manifestClients } from '../images/image-set';
import { Lab, type StartedLab } from '../lab/lab';
import { BootRunReport } from '../report/boot-run-report';
import type { ClientTimeline } from '../results/types';
import type { Judged, StepRole } from './bisect-search';
import { followUpTo, judgeGate, judgeTimelines, type Criterion, type Judgement } from './criterion';
import type { Commit, StackHistory } from './git-history';

/** How each revision is booted: what `./lab bisect`'s options say, the same for every revision. */
export interface RevisionBoot {
  clients: number;
  /** Configures each client as ./lab boot's options would (memory, NIC, --append; what it boots, its union among it, is config.client). */
  configure: (c: ThinClient) => ThinClient;
  config: BootConfig;
  criterion: Criterion;
}

/** One revision's images: what build.sh did, or that they were the same as an earlier revision's. */
export interface RevisionBuild {
  steps: Record<BuildStep, StepOutcome>;
  seconds: number;
}

/** What bisect learnt of one revision: its verdict's evidence, for the progress line and the summary. */
export interface RevisionResult {
  commit: Commit;
  /** The image keys (build.sh --keys), or the vm-images/ tree when the revision's build.sh cannot say. */
  identity: string;
  judgement: Judgement;
  /** Set when the verdict is an earlier revision's with the same images: no build, no boot. */
  reusedFrom?: Commit;
  build?: RevisionBuild;
  /** The boot's report folder (results.json, index.html, consoles) and timelines. */
  reportDir?: string;
  /** The run id of the lab it booted in (its containers, network and taps carry it). */
  labRun?: string;
  timelines?: ClientTimeline[];
  bootSeconds?: number;
}

export interface RevisionJudgeOptions {
  history: StackHistory;
  boot: RevisionBoot;
  /** The bisect's own run: its state folder holds the checkouts (reaped with it after a crash). */
  run: RunContext;
  /** reports/bisect-<run>/: each judged revision's boot report goes in a folder of its own. */
  reportDir: string;
  progress: (line: string) => void;
}

/**
 * Judges revisions for `bisect()`: exports vm-images/ at the revision into the bisect's
 * state folder, builds its images through the keyed cache, boots them in a lab of their
 * own and judges the boot by the criterion. A revision whose images are the same as an
 * already judged one's (same keys) takes that verdict: nothing it boots could differ.
 * A recipe that does not build is a skip; any other harness or set-up error propagates
 * (it is not a verdict).
 */
export class RevisionJudge {
  private readonly byIdentity = new Map<string, RevisionResult>();
  readonly results: RevisionResult[] = [];
  private count = 0;

  constructor(private readonly opts: RevisionJudgeOptions) {}

  /** The oracle bisect() calls. */
  readonly oracle = async (rev: string, role: StepRole): Promise<Judged<RevisionResult>> => {
    const r = await this.judge(rev, role);
    this.results.push(r);
    return { verdict: r.judgement.verdict, detail: r };
  };

  private async judge(rev: string, role: StepRole): Promise<RevisionResult> {
    const { history, run, progress } = this.opts;
    const n = ++this.count;
    const keysDeadline = stepDeadline(budgetMs('revisionImages'), `vm-images/ of ${rev.slice(0, 12)} and its image keys`);
    const commit = await history.commit(rev, keysDeadline);
    const what = role === 'good-end' ? 'GOOD' : role === 'bad-end' ? 'BAD' : `step ${n - 2}`;
    progress(`bisect: ${what}: ${commit.short} ${commit.subject}`);
    const checkout = join(run.stateDir, 'stack', `${n}-${commit.short}`);
    try {
      const dir = await history.exportStack(commit.hash, checkout, keysDeadline);
      const identity = await imageKeys({ deadline: keysDeadline, dir })
        .then((k) => Object.entries(k).map(([a, v]) => `${a}=${v}`).join(' '))
        // A revision whose build.sh cannot print its keys: its vm-images/ tree stands for them.
        .catch(async () => `tree=${await history.stackTree(commit.hash, keysDeadline)}`);
      const same = this.byIdentity.get(identity);
      if (same) {
        const r: RevisionResult = { commit, identity, judgement: same.judgement, reusedFrom: same.reusedFrom ?? same.commit };
        progress(`bisect:   same images as ${r.reusedFrom!.short} (${shortIdentity(identity)}): ${r.judgement.verdict.toUpperCase()}, its verdict reused: no build, no boot`);
        return r;
      }
      const r = await this.buildAndBoot(commit, identity, dir, n);
      this.byIdentity.set(identity, r);
      return r;
    } finally {
      rmSync(checkout, { recursive: true, force: true });
    }
  }

  private async buildAndBoot(commit: Commit, identity: string, dir: string, n: number): Promise<RevisionResult> {
    const { progress } = this.opts;
    const lines: string[] = [];
    const t0 = performance.now();
    try {
      // Only the kind it boots: the other's initramfs would be built for nothing.
      const kind = this.opts.boot.config.client.kind;
      const m = await ensureImages({ deadline: stepDeadline(budgetMs('imageBuild'), `images of ${commit.short}`), dir, kinds: [kind], run: this.opts.run, onProgress: (l) => lines.push(l) });
      // A revision from before its client kind existed cannot boot it: not the stack's failure.
      if (manifestClients(m)[kind] === undefined) {
        const judgement: Judgement = { verdict: 'skip', reason: `its image set has no ${kind} client (bisect another kind with --client)` };
        progress(`bisect:   SKIP: ${judgement.reason}`);
        return { commit, identity, judgement };
      }
    } catch (e) {
      if (!(e instanceof ImageBuildError)) throw e;
      const judgement: Judgement = { verdict: 'skip', reason: `its images do not build: ${e.message.split('\n')[0]}` };
      progress(`bisect:   SKIP: ${judgement.reason}`);
      return { commit, identity, judgement };
    }
    const build: RevisionBuild = { steps: buildStepOutcomes(lines), seconds: (performance.now() - t0) / 1000 };
    progress(`bisect:   images: ${describeBuild(build)}`);
    const reportDir = join(this.opts.reportDir, `${String(n).padStart(2, '0')}-${commit.short}`);
    const t1 = performance.now();
    const labRun = new RunContext();
    const { timelines, judgement } = await this.boot(commit, dir, reportDir, labRun);
    const bootSeconds = (performance.now() - t1) / 1000;
    progress(`bisect:   boot to ${followUpTo(this.opts.boot.criterion)}: ${judgement.verdict.toUpperCase()}: ${judgement.reason} (${bootSeconds.toFixed(0)} s, report ${reportDir})`);
    return { commit, identity, judgement, build, reportDir, labRun: labRun.id, timelines, bootSeconds };
  }

  /** One lab for the revision, as ./lab boot makes it; its report is written however the boot ends. */
  private async boot(commit: Commit, dir: string, reportDir: string, run: RunContext): Promise<{ timelines: ClientTimeline[]; judgement: Judgement }> {
    const { boot } = this.opts;
    const clients: StartedThinClient[] = [];
    const report = new BootRunReport(reportDir, `./lab bisect: ${commit.short} ${commit.subject}`, () => clients);
    const gate = boot.criterion.kind === 'gate';
    const powerOn = async (lab: StartedLab): Promise<StartedThinClient[]> => {
      for (let i = 0; i < boot.clients; i++) clients.push(await boot.configure(lab.client(`c${i + 1}`)).start());
      return clients;
    };
    let lab: StartedLab;
    try {
      // Gated boots start once the server is up, as the baseline's did.
      lab = await new Lab().withRunContext(run).withReportDir(reportDir).withVmImages(dir).withClient(boot.config.client).withOwnKindOnly().start(gate ? {} : { whileServerStarts: async (l) => void (await powerOn(l)) });
    } catch (e) {
      await report.write(e).catch(() => undefined);
      report.close();
      throw e;
    }
    report.attachLab(lab);
    let failed: unknown;
    let judgement: Judgement | undefined;
    try {
      if (gate) {
        const result = await gateBoots(lab, () => powerOn(lab), { clients: boot.clients, config: boot.config, configure: boot.configure });
        report.results.gate = result.verdict;
        judgement = judgeGate(result.verdict);
      } else {
        const upTo = followUpTo(boot.criterion);
        const results = await Promise.allSettled(clients.map((c) => c.waitForBoot(undefined, upTo)));
        failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
      }
    } catch (e) {
      failed = e;
    }
    // A server held from outside (docker pause) is no verdict on the revision.
    failed = await lab.blame(failed);
    try {
      await report.write(failed);
    } finally {
      report.close();
      await lab.stop();
    }
    // The stack failing is a verdict; the lab failing is not.
    if (failed !== undefined && !(failed instanceof SutError)) throw failed;
    const timelines = clients.map((c) => c.report());
    return { timelines, judgement: judgement ?? judgeTimelines(boot.criterion, timelines, failed as SutError | undefined) };
  }
}

function describeBuild(b: RevisionBuild): string {
  const built = BUILD_STEPS.filter((s) => b.steps[s] === 'built');
  const cached = BUILD_STEPS.filter((s) => b.steps[s] === 'cached');
  const head = built.length === 0 ? 'all reused from the cache' : `built ${built.join(', ')}${cached.length ? `; reused ${cached.join(', ')}` : ''}`;
  return `${head} (${b.seconds.toFixed(0)} s)`;
}

/** The initramfs key, or the tree, for a progress line. */
function shortIdentity(identity: string): string {
  return /initramfs=(\w+)/.exec(identity)?.[0] ?? identity.slice(0, 20);
}

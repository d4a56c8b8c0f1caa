import { join, resolve } from 'node:path';
import {
  CLIENT_MEMORY_MB,
  bootStages,
  CLIENT_KINDS,
  clientSpec,
  describeClientValues,
  type ClientSpec,
  checkBaselines,
  checkClientsFit,
  REPORTS_ROOT,
  repoRoot,
  RunContext,
  runBisect,
  SetupError,
  UsageError,
  validateAppend,
  type BisectCriterion,
  type ThinClient,
} from '../harness/index';
import { intOption, parseCommandLine, type Spec } from './args';

export const BISECT_USAGE = `./lab bisect GOOD BAD [--repo DIR] [--stage STAGE [--budget SECONDS] | --slower-than-baseline]
             [--clients N] [--client KIND] [--memory MB] [--append "ARGS"] [--report DIR]

Finds the first commit that broke or slowed the boot, walking the git history of
vm-images/ (the commits after GOOD up to BAD that change it; first-parent history). Each
revision's vm-images/ is exported (git archive) into the run's state folder, its images
built through the keyed cache (a revision whose recipes did not change reuses them), and
booted in a lab of its own. GOOD must be good and BAD bad; then the commits between are
halved. A revision whose image keys equal an already judged one's takes that verdict,
with no build and no boot. A revision whose images do not build, or whose image set has
no client of the kind booted (--client), is skipped, as git bisect skip does; a harness error stops the bisect (it is not a verdict).

Prints a line per step (revision, subject, images built or reused, verdict, time) and
names the first bad commit, with the last good and the first bad boot timelines side by
side and their per-stage differences. reports/bisect-<run>/ holds each booted
revision's report, summary.txt and bisect.json.

Exit 0 a first bad commit named, 2 usage (GOOD or BAD not a commit, GOOD not an ancestor
of BAD, no vm-images/ change between them, GOOD bad or BAD good), 3 set-up problem (also:
only skipped commits left, or an end that cannot be judged), 5 the harness broke.

  --repo DIR               the repository (default: this checkout)
  --client KIND            what the clients boot:
${describeClientValues('kind', '                             ')}
  --stage STAGE            bad = a client does not reach STAGE (its boot is followed no
                           further); default: bad = a client does not reach the login prompt
  --budget SECONDS         with --stage: bad too when STAGE takes longer than SECONDS since
                           the stage before it (the timeline's +Δ, this host's seconds)
  --slower-than-baseline   bad = the regression gate calls the boot slower than this
                           host's baseline (as ./lab boot --compare); inconclusive is a skip
  --clients N              clients booted per revision (1-2, default 1)
  --memory MB              each client's RAM (default 384)
  --append "ARGS"          extra kernel arguments for every revision's clients
  --report DIR             the report folder (default reports/bisect-<run>/)
`;

export interface BisectArgs {
  good: string;
  bad: string;
  repo: string;
  criterion: BisectCriterion;
  clients: number;
  memoryMb: number;
  append?: string;
  reportDir?: string;
  /** What the clients boot (a revision whose image set lacks it is skipped). */
  client: ClientSpec;
}

export const BISECT_SPEC: Spec = {
  repo: 'value',
  stage: 'value',
  budget: 'value',
  'slower-than-baseline': 'flag',
  clients: 'value',
  client: { kind: 'value', choices: CLIENT_KINDS },
  memory: 'value',
  append: 'value',
  report: 'value',
};

export function parseBisectArgs(argv: readonly string[]): BisectArgs {
  const { options: o, args } = parseCommandLine(argv, BISECT_SPEC, ['[good]', '[bad]']);
  if (args.length !== 2) throw new UsageError(`bisect takes two commits, GOOD and BAD (got ${args.length}${args.length ? `: ${args.join(' ')}` : ''})`, { hint: 'e.g. ./lab bisect v1.2 HEAD' });
  const [good, bad] = args as [string, string];
  const stage = o.get('stage') as string | undefined;
  const budget = o.get('budget') as string | undefined;
  const gate = o.has('slower-than-baseline');
  let criterion: BisectCriterion = { kind: 'boot' };
  if (stage !== undefined) {
    const ids: readonly string[] = bootStages({ union: true }).map((s) => s.id);
    if (!ids.includes(stage)) throw new UsageError(`--stage '${stage}' is not a boot stage`, { hint: `one of: ${ids.join(' ')}` });
    if (gate) throw new UsageError('--stage and --slower-than-baseline do not go together: the gate judges the whole boot to login');
    criterion = { kind: 'stage', stage, ...(budget === undefined ? {} : { budgetS: intOption(budget, 'budget', 1, 3600, 0, ' s') }) };
  } else if (budget !== undefined) {
    throw new UsageError('--budget is for --stage: how long that stage may take');
  } else if (gate) {
    criterion = { kind: 'gate' };
  }
  const out: BisectArgs = {
    good,
    bad,
    repo: resolve((o.get('repo') as string | undefined) ?? repoRoot()),
    criterion,
    // At most two guests at once on the reference host: one lab per revision, no more.
    clients: intOption(o.get('clients') as string | undefined, 'clients', 1, 2, 1),
    memoryMb: intOption(o.get('memory') as string | undefined, 'memory', CLIENT_MEMORY_MB.min, CLIENT_MEMORY_MB.max, CLIENT_MEMORY_MB.default, ' MB'),
    client: clientSpec((o.get('client') as string | undefined) === undefined ? {} : { kind: o.get('client') as string }),
  };
  const append = o.get('append') as string | undefined;
  if (append !== undefined) out.append = validateAppend(append);
  const report = o.get('report') as string | undefined;
  if (report !== undefined) out.reportDir = report;
  return out;
}

/** ./lab bisect GOOD BAD: names the first bad commit of vm-images/'s history. */
export async function bisect(argv: string[]): Promise<number> {
  const a = parseBisectArgs(argv);
  checkClientsFit(a.clients, a.memoryMb);
  // Before any revision is built: a damaged baseline would otherwise show only after GOOD's boot.
  if (a.criterion.kind === 'gate') checkBaselines();
  const run = new RunContext();
  const reportDir = resolve(a.reportDir ?? join(REPORTS_ROOT, `bisect-${run.id}`));
  const configure = (c: ThinClient): ThinClient => {
    const b = c.withMemory(a.memoryMb);
    return a.append ? b.withAppend(a.append) : b;
  };
  const t0 = performance.now();
  const r = await runBisect({
    repo: a.repo,
    good: a.good,
    bad: a.bad,
    boot: { clients: a.clients, configure, config: { memoryMb: a.memoryMb, nic: 'virtio-net-pci', union: true, client: a.client }, criterion: a.criterion },
    reportDir,
    run,
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(`\n${r.summary}\n\nsummary: ${r.summaryFile}\n`);
  process.stderr.write(`lab: bisect took ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  const o = r.outcome;
  switch (o.kind) {
    case 'found':
      return 0;
    case 'good-is-bad':
      throw new UsageError(`GOOD ${o.rev.slice(0, 12)} is bad by this criterion: there is nothing to bisect`, { hint: `pick an older GOOD; its boot is under ${reportDir}` });
    case 'bad-is-good':
      throw new UsageError(`BAD ${o.rev.slice(0, 12)} is good by this criterion: there is nothing to bisect`, { hint: `pick a newer BAD, or another criterion (--stage, --budget, --slower-than-baseline); its boot is under ${reportDir}` });
    case 'end-skipped':
      throw new SetupError(`${o.rev.slice(0, 12)} could not be judged (see the summary)`, { hint: 'pick another GOOD or BAD' });
    case 'undecided':
      throw new SetupError(`only skipped commits are left: the first bad commit is one of ${o.suspects.map((h) => h.slice(0, 12)).join(' ')}`);
  }
}

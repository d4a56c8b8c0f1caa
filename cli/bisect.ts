import { join, resolve } from 'node:path';
import {
  CLIENT_MEMORY_MB,
  bootStages,
  CLIENT_KINDS,
  CLIENT_DIMENSIONS,
  parseClientValue,
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
import { intOption, intValue, parseCommand, type CommandSpec, type Spec } from './args';

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

export const BISECT_SPEC = {
  repo: { kind: 'value', value: 'DIR', help: 'the repository (default: this checkout)' },
  stage: {
    kind: 'value',
    value: 'STAGE',
    help: 'bad = a client does not reach STAGE (its boot is followed no further); default: bad = a client does not reach the login prompt',
    choices: bootStages().map((st) => st.id),
    conflicts: { 'slower-than-baseline': 'the gate judges the whole boot to login' },
  },
  budget: { kind: 'value', value: 'SECONDS', help: 'with --stage: bad too when STAGE takes longer than SECONDS since the stage before it (the timeline\'s +Δ, this host\'s seconds)', range: { min: 1, max: 3600, unit: 's' } },
  'slower-than-baseline': { kind: 'flag', help: "bad = the regression gate calls the boot slower than this host's baseline (as ./lab boot --compare); inconclusive is a skip" },
  // At most two guests at once on the reference host: one lab per revision, no more.
  clients: { kind: 'value', value: 'N', help: 'clients booted per revision', range: { min: 1, max: 2 }, default: 1 },
  client: { kind: 'value', value: 'KIND', help: 'what the clients boot (see KIND below)', choices: CLIENT_KINDS },
  union: { kind: 'value', value: 'M', help: "the clients' union method (see ./lab boot --help); a revision whose union module predates overlayfs fails at union", choices: CLIENT_DIMENSIONS.union.values, parse: (v) => parseClientValue('union', v) },
  memory: { kind: 'value', value: 'MB', help: "each client's RAM", range: { min: CLIENT_MEMORY_MB.min, max: CLIENT_MEMORY_MB.max, unit: 'MB' }, default: CLIENT_MEMORY_MB.default },
  append: { kind: 'value', value: 'ARGS', help: "extra kernel arguments for every revision's clients" },
  report: { kind: 'value', value: 'DIR', help: 'the report folder (default reports/bisect-<run>/)' },
} as const satisfies Spec;

export const BISECT_COMMAND: CommandSpec = {
  name: './lab bisect',
  description: `Finds the first commit that broke or slowed the boot, walking the git history of vm-images/ (the commits after GOOD up to BAD that change it; first-parent history). Each revision's vm-images/ is exported (git archive) into the run's state folder, its images built through the keyed cache (a revision whose recipes did not change reuses them), and booted in a lab of its own. GOOD must be good and BAD bad; then the commits between are halved. A revision whose image keys equal an already judged one's takes that verdict, with no build and no boot. A revision whose images do not build, or whose image set has no client of the kind booted (--client), is skipped, as git bisect skip does; a harness error stops the bisect (it is not a verdict).

Prints a line per step (revision, subject, images built or reused, verdict, time) and names the first bad commit, with the last good and the first bad boot timelines side by side and their per-stage differences. reports/bisect-<run>/ holds each booted revision's report, summary.txt and bisect.json.

Exit 0 a first bad commit named, 2 usage (GOOD or BAD not a commit, GOOD not an ancestor of BAD, no vm-images/ change between them, GOOD bad or BAD good), 3 set-up problem (also: only skipped commits left, or an end that cannot be judged), 5 the harness broke.`,
  args: ['[good]', '[bad]'],
  usage: 'GOOD BAD [options]',
  options: BISECT_SPEC,
  after: `KIND:
${describeClientValues('kind', '    ')}
`,
};

export function parseBisectArgs(argv: readonly string[]): BisectArgs {
  const { options: o, args } = parseCommand(argv, BISECT_COMMAND);
  if (args.length !== 2) throw new UsageError(`bisect takes two commits, GOOD and BAD (got ${args.length}${args.length ? `: ${args.join(' ')}` : ''})`, { hint: 'e.g. ./lab bisect v1.2 HEAD' });
  const [good, bad] = args as [string, string];
  const stage = o.get('stage') as string | undefined;
  const budget = o.get('budget') as string | undefined;
  const gate = o.has('slower-than-baseline');
  let criterion: BisectCriterion = { kind: 'boot' };
  if (stage !== undefined) {
    criterion = { kind: 'stage', stage, ...(budget === undefined ? {} : { budgetS: intOption(budget, 'budget', BISECT_SPEC.budget.range.min, BISECT_SPEC.budget.range.max, 0, ' s') }) };
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
    clients: intValue(o, BISECT_SPEC, 'clients'),
    memoryMb: intValue(o, BISECT_SPEC, 'memory'),
    client: clientSpec(Object.fromEntries((['kind', 'union'] as const).flatMap((d) => {
      const v = o.get(d === 'kind' ? 'client' : d) as string | undefined;
      return v === undefined ? [] : [[d, v]];
    }))),
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
    boot: { clients: a.clients, configure, config: { memoryMb: a.memoryMb, nic: 'virtio-net-pci', client: a.client }, criterion: a.criterion },
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

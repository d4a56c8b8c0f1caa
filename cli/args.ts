import { Command, CommanderError, Option } from 'commander';
import { BENCH_CASES, CLIENT_DIMENSIONS, CLIENT_MEMORY_MB, defaultRootArgFor, NBD_SERVER_DIMENSION, type NbdServerVersion, parseNbdServer, CLIENT_KINDS, clientKey, clientSpec, DEFAULT_BENCH_CASES, DHCP_ROOT_ARG, type ClientDimension, type ClientSpec, parseFaults, parseServerInit, parseShard, parseTier, ROOT_EXPORT, rootFromDhcp, UsageError, validateAppend, validateGrep, validateRootArg, validateRootPath, type FaultSpec, type ServerInit, type TestArgs } from '../harness/index';

export interface BootOptions {
  clients: number;
  memoryMb: number;
  append?: string;
  keep: boolean;
  json: boolean;
  union: boolean;
  exportName: string;
  nic: string;
  macs: string[];
  reportDir?: string;
  /** Judge the boots against the baseline (harness/gate); exit 6 on a regression. */
  compare: boolean;
  /** Retry rounds before the gate calls a regression (its policy's by default). */
  retries?: number;
  /** Lab faults to apply during the boot (harness/fault). */
  faults: FaultSpec[];
  /** The root argument in place of the lab's (a template with {server}, {export}). */
  rootArg?: string;
  /** A DHCP root-path dnsmasq sends the initramfs (with a root from DHCP). */
  rootPath?: string;
  /** What runs as PID 1 in the server container (harness/server/server-init.ts). */
  serverInit: ServerInit;
  /** What each client boots, one per client (--client: one for all, or one per client in order). */
  boots: ClientSpec[];
  /** Which nbd-server the server runs (--nbd-server; harness/server/nbd-server-version.ts). */
  nbdServer: NbdServerVersion;
}

/** An option whose values are one of a known list (commander's choices): anything else is a UsageError naming them. */
export interface Choices {
  kind: 'value' | 'list';
  choices: readonly string[];
}

export type Spec = Record<string, 'flag' | 'value' | 'list' | Choices>;

export interface ParsedCommandLine {
  options: Map<string, string | string[] | true>;
  /** The positional arguments, in order (at most as many as were declared, unless the last is variadic). */
  args: string[];
}

/**
 * Strict parsing on commander: unknown options, missing values, a value option given
 * twice and arguments beyond the declared positionals are UsageErrors (exit 2).
 * `positionals` are commander argument specs such as '[run]' or '<good>'.
 */
export function parseCommandLine(argv: readonly string[], spec: Spec, positionals: readonly string[] = []): ParsedCommandLine {
  // commander takes `--append --keep` as append='--keep'; the lab has always called that a missing value.
  for (let i = 0; i < argv.length - 1; i++) {
    const name = (argv[i] as string).slice(2);
    if ((argv[i] as string).startsWith('--') && Object.hasOwn(spec, name) && spec[name] !== 'flag' && (argv[i + 1] as string).startsWith('--')) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  const cmd = new Command('lab').exitOverride().helpOption(false).configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const [name, entry] of Object.entries(spec)) {
    const kind = typeof entry === 'string' ? entry : entry.kind;
    const choices = typeof entry === 'string' ? undefined : entry.choices;
    // commander's own choice check is its argParser, which ours replace: checked here.
    const chosen = (v: string): string => {
      if (choices && !choices.includes(v)) throw new UsageError(`--${name} '${v}' is not one of ${choices.join(', ')}`);
      return v;
    };
    const option = (flags: string): Option => (choices ? new Option(flags).choices(choices) : new Option(flags));
    if (kind === 'flag') cmd.addOption(option(`--${name}`));
    else if (kind === 'list') cmd.addOption(option(`--${name} <value>`).argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), chosen(v)]));
    else {
      cmd.addOption(
        option(`--${name} <value>`).argParser((v: string, prev: string | undefined) => {
          if (prev !== undefined) throw new UsageError(`--${name} is given twice`);
          return chosen(v);
        }),
      );
    }
  }
  for (const p of positionals) cmd.argument(p);
  cmd.allowExcessArguments(true);
  try {
    cmd.parse(argv as string[], { from: 'user' });
  } catch (e) {
    throw usageErrorOf(e, spec);
  }
  // A last positional such as '[dirs...]' takes every argument left.
  const variadic = /\.\.\.[\]>]$/.test(positionals.at(-1) ?? '');
  const extra = cmd.args[positionals.length];
  if (extra !== undefined && !variadic) throw new UsageError(`unexpected argument '${extra}'`, { hint: 'options start with --; see ./lab help' });
  const options = new Map<string, string | string[] | true>();
  const values = cmd.opts<Record<string, string | string[] | boolean | undefined>>();
  for (const [name, entry] of Object.entries(spec)) {
    const kind = typeof entry === 'string' ? entry : entry.kind;
    // commander reads a --no-X flag as X = false (and X's default true).
    const v = kind === 'flag' && name.startsWith('no-') ? (values[camel(name.slice(3))] === false ? true : undefined) : values[camel(name)];
    if (v !== undefined && v !== false) options.set(name, v);
  }
  return { options, args: cmd.args };
}

/** Options only: any positional argument is a UsageError. */
export function parseOptions(argv: readonly string[], spec: Spec): Map<string, string | string[] | true> {
  return parseCommandLine(argv, spec).options;
}

/** commander's attribute name for an option (--report-dir: reportDir). */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function usageErrorOf(e: unknown, spec: Spec): unknown {
  if (e instanceof UsageError || !(e instanceof CommanderError)) return e;
  const known = { hint: `known options: ${Object.keys(spec).map((k) => `--${k}`).join(' ')}` };
  const said = e.message.replace(/^error: /, '');
  switch (e.code) {
    case 'commander.unknownOption': {
      const [option, ...rest] = said.replace(/^unknown option '(.*?)'/, '$1\n').split('\n');
      const flag = (option ?? '').replace(/=.*$/, '');
      if (flag !== option && Object.hasOwn(spec, flag.slice(2))) return new UsageError(`${flag} takes no value`);
      const guess = rest.join(' ').trim();
      return new UsageError(`unknown option '${flag.startsWith('--') ? flag : option}'${guess ? ` ${guess}` : ''}`, known);
    }
    case 'commander.optionMissingArgument':
      return new UsageError(`${said.replace(/^option '(--[\w-]+).*$/s, '$1')} needs a value`);
    default:
      return new UsageError(said);
  }
}

export function intOption(raw: string | undefined, name: string, min: number, max: number, fallback: number, unit = ''): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} '${raw}' is not a whole number`);
  const n = Number(raw);
  if (n < min || n > max) {
    throw new UsageError(`--${name} ${n}${unit} is out of range: give ${min} to ${max}${unit}`);
  }
  return n;
}

export const BOOT_SPEC: Spec = {
  clients: 'value',
  memory: 'value',
  append: 'value',
  keep: 'flag',
  json: 'flag',
  'no-union': 'flag',
  export: 'value',
  nic: 'value',
  mac: 'list',
  report: 'value',
  compare: 'flag',
  retries: 'value',
  fault: 'list',
  'root-arg': 'value',
  'root-path': 'value',
  'server-init': 'value',
  // The CLI's choices are the one list of known kinds (harness/client/client-spec.ts).
  client: { kind: 'list', choices: CLIENT_KINDS },
  'nbd-client': { kind: 'value', choices: CLIENT_DIMENSIONS.nbdClient.values },
  'nbd-server': { kind: 'value', choices: NBD_SERVER_DIMENSION.values },
  stack: { kind: 'value', choices: CLIENT_DIMENSIONS.stack.values },
};

/** The options that shape the k12 stack's chain only: with --stack ltsp23 each is refused (exit 2). */
const K12_ONLY_OPTIONS = ['no-union', 'export', 'root-arg', 'root-path', 'nbd-server'];

const NIC_MODELS = ['virtio-net-pci', 'e1000', 'rtl8139'];

export function parseBootArgs(argv: readonly string[]): BootOptions {
  const o = parseOptions(argv, BOOT_SPEC);
  const clients = intOption(o.get('clients') as string | undefined, 'clients', 1, 8, 1);
  const memoryMb = intOption(o.get('memory') as string | undefined, 'memory', CLIENT_MEMORY_MB.min, CLIENT_MEMORY_MB.max, CLIENT_MEMORY_MB.default, ' MB');
  const nic = (o.get('nic') as string | undefined) ?? 'virtio-net-pci';
  if (!NIC_MODELS.includes(nic)) throw new UsageError(`--nic '${nic}' is not one of ${NIC_MODELS.join(', ')}`);
  const macs = ((o.get('mac') as string[] | undefined) ?? []).map((m) => m.toLowerCase());
  for (const m of macs) {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new UsageError(`--mac '${m}' is not a MAC address like 52:54:00:12:34:56`);
    if (parseInt(m.slice(0, 2), 16) & 1) throw new UsageError(`--mac ${m} is a multicast address; a NIC needs a unicast one`);
  }
  const dup = macs.find((m, i) => macs.indexOf(m) !== i);
  if (dup) throw new UsageError(`--mac ${dup} is given twice: each client needs its own MAC (dnsmasq leases by MAC)`);
  if (macs.length > clients) throw new UsageError(`${macs.length} --mac given for ${clients} client(s)`);
  const opts: BootOptions = {
    clients,
    memoryMb,
    keep: o.has('keep'),
    json: o.has('json'),
    union: !o.has('no-union'),
    exportName: (o.get('export') as string | undefined) ?? ROOT_EXPORT,
    nic,
    macs,
    compare: o.has('compare'),
    faults: parseFaults((o.get('fault') as string[] | undefined) ?? []),
    serverInit: parseServerInit((o.get('server-init') as string | undefined) ?? 'entrypoint'),
    boots: clientsBoot((o.get('client') as string[] | undefined) ?? [], clients, { nbdClient: o.get('nbd-client') as string | undefined, stack: o.get('stack') as string | undefined }),
    nbdServer: parseNbdServer((o.get('nbd-server') as string | undefined) ?? NBD_SERVER_DIMENSION.default),
  };
  if (opts.boots.some((b) => b.stack !== CLIENT_DIMENSIONS.stack.default)) {
    const k12Only = K12_ONLY_OPTIONS.find((n) => o.has(n));
    if (k12Only !== undefined) throw new UsageError(`--${k12Only} is for the k12 stack: the ltsp23 stack boots LTSP's image with LTSP's overlay`, { hint: 'leave it out with --stack ltsp23' });
  }
  if (opts.compare && opts.faults.length > 0) throw new UsageError('--compare and --fault do not go together: the gate judges boots of the unchanged stack');
  const retries = o.get('retries') as string | undefined;
  if (retries !== undefined) {
    if (!opts.compare) throw new UsageError('--retries is for --compare: how often the gate boots again before it calls a regression');
    opts.retries = intOption(retries, 'retries', 0, 5, 0);
  }
  if (opts.compare && opts.serverInit !== 'entrypoint') throw new UsageError(`--compare and --server-init ${opts.serverInit} do not go together: the baselines are boots from the default server (entrypoint)`);
  if (opts.compare && new Set(opts.boots.map((b) => clientKey(b))).size > 1) {
    throw new UsageError('--compare judges one client kind against its own baseline: give one --client for all the clients', { hint: 'the gate\'s baselines are per client kind (./lab baseline --help)' });
  }
  if (opts.compare && opts.keep) throw new UsageError('--compare and --keep do not go together: the gate stops the clients it judged to boot more');
  const append = o.get('append') as string | undefined;
  // Checked here too, so a bad --append fails before any lab exists.
  if (append !== undefined) opts.append = validateAppend(append);
  const report = o.get('report') as string | undefined;
  if (report !== undefined) opts.reportDir = report;
  Object.assign(opts, rootOptions(o.get('root-arg') as string | undefined, o.get('root-path') as string | undefined));
  // An old-style server has no names: its clients ask by port, as LTSP5's did.
  const serverRoot = defaultRootArgFor(opts.nbdServer);
  if (opts.rootArg === undefined && opts.rootPath === undefined && serverRoot !== undefined) opts.rootArg = serverRoot;
  if (opts.compare && (opts.rootArg !== undefined || opts.rootPath !== undefined)) {
    throw new UsageError('--compare and --root-arg/--root-path do not go together: the baseline is of the lab\'s own root argument');
  }
  return opts;
}

/**
 * What each of `clients` boots: one --client for all of them, or one per client; none: the
 * default (DEFAULT_CLIENT_SPEC). The other dimensions (--nbd-client, --stack) are one for all.
 */
export function clientsBoot(kinds: readonly string[], clients: number, others: { nbdClient?: string | undefined; stack?: string | undefined } = {}): ClientSpec[] {
  const option = CLIENT_DIMENSIONS.kind.option;
  if (kinds.length > 1 && kinds.length !== clients) {
    throw new UsageError(`${kinds.length} ${option} given for ${clients} client(s): give one for every client, or one for all`, { hint: `e.g. --clients 2 ${option} ltsp ${option} stock` });
  }
  const given = Object.fromEntries(Object.entries(others).filter(([, v]) => v !== undefined)) as Partial<Record<ClientDimension, string>>;
  const specs = kinds.map((kind) => clientSpec({ ...given, kind }));
  return Array.from({ length: clients }, (_, i) => specs[specs.length === 1 ? 0 : i] ?? clientSpec(given));
}

/** --root-arg and --root-path, checked together: a root-path is read by dracut only for a root from DHCP. */
function rootOptions(rootArg: string | undefined, rootPath: string | undefined): Pick<BootOptions, 'rootArg' | 'rootPath'> {
  const arg = rootArg === undefined ? undefined : validateRootArg(rootArg);
  if (rootPath === undefined) {
    if (arg !== undefined && rootFromDhcp(arg)) throw new UsageError(`--root-arg '${arg}' takes the root from DHCP: give the root-path too`, { hint: "e.g. --root-path 'nbd:{server}:{export}:ext4:ro'" });
    return arg === undefined ? {} : { rootArg: arg };
  }
  const path = validateRootPath(rootPath);
  if (arg !== undefined && !rootFromDhcp(arg)) {
    throw new UsageError(`--root-path is read by dracut only for a root from DHCP, and --root-arg '${arg}' is not one`, { hint: `leave --root-arg out (then: ${DHCP_ROOT_ARG}), or give root=dhcp or netroot=dhcp` });
  }
  return { rootArg: arg ?? DHCP_ROOT_ARG, rootPath: path };
}

export interface BenchArgs {
  /** Absent: each case's own default (client: 5), else 3. */
  runs?: number;
  cases: string[];
  json: boolean;
}

export const BENCH_SPEC: Spec = { runs: 'value', case: 'list', json: 'flag' };

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const o = parseOptions(argv, BENCH_SPEC);
  const given = o.get('runs') as string | undefined;
  const cases = (o.get('case') as string[] | undefined) ?? [...DEFAULT_BENCH_CASES];
  for (const c of cases) {
    if (!BENCH_CASES.includes(c)) throw new UsageError(`--case '${c}' is not a bench case`, { hint: `one of: ${BENCH_CASES.join(', ')}` });
  }
  const dup = cases.find((c, i) => cases.indexOf(c) !== i);
  if (dup) throw new UsageError(`--case ${dup} is given twice`);
  return { ...(given === undefined ? {} : { runs: intOption(given, 'runs', 1, 20, 3) }), cases, json: o.has('json') };
}

export interface BaselineArgs {
  update: boolean;
  runs: number;
  /** The client kind whose baseline --update records (each kind has its own). */
  client: ClientSpec;
}

export const BASELINE_SPEC: Spec = { update: 'flag', runs: 'value', client: { kind: 'value', choices: CLIENT_KINDS } };

export function parseBaselineArgs(argv: readonly string[]): BaselineArgs {
  const o = parseOptions(argv, BASELINE_SPEC);
  const runs = o.get('runs') as string | undefined;
  if (runs !== undefined && !o.has('update')) throw new UsageError('--runs is for --update: how many boots the new baseline holds');
  const kind = o.get('client') as string | undefined;
  if (kind !== undefined && !o.has('update')) throw new UsageError('--client is for --update: which client kind\'s baseline to record (without --update every baseline is printed)');
  return { update: o.has('update'), runs: intOption(runs, 'runs', 2, 20, 6), client: clientSpec(kind === undefined ? {} : { kind }) };
}

/** ./lab report [RUN]'s options (--merge has its own, MERGE_SPEC). */
export const REPORT_SPEC: Spec = { against: 'value', 'record-durations': 'flag' };

/** ./lab test's options (the ./lab script hands them to cli/test-plan.ts). */
export const TEST_SPEC: Spec = { grep: 'value', shard: 'value', tier: 'value', 'no-checks': 'flag' };

export function parseTestArgs(argv: readonly string[]): TestArgs {
  const o = parseOptions(argv, TEST_SPEC);
  const grep = o.get('grep') as string | undefined;
  const shard = o.get('shard') as string | undefined;
  const tier = o.get('tier') as string | undefined;
  return {
    checks: !o.has('no-checks'),
    ...(grep === undefined ? {} : { grep: validateGrep(grep) }),
    ...(shard === undefined ? {} : { shard: parseShard(shard) }),
    ...(tier === undefined ? {} : { tier: parseTier(tier) }),
  };
}

export interface MergeArgs {
  dirs: string[];
  out?: string;
}

/** ./lab report --merge DIR... [--out DIR]: the positional arguments are the run folders. */
export const MERGE_SPEC: Spec = { merge: 'flag', out: 'value' };

export function parseMergeArgs(argv: readonly string[]): MergeArgs {
  const { options: o, args } = parseCommandLine(argv, MERGE_SPEC, ['[dirs...]']);
  const dirs = args;
  if (dirs.length === 0) throw new UsageError('--merge needs the run folders to merge', { hint: 'e.g. ./lab report --merge shard-1/test-20261202-031500 shard-2/test-20261202-031502' });
  const out = o.get('out') as string | undefined;
  return { dirs, ...(out === undefined ? {} : { out }) };
}

import { Command, CommanderError, Option } from 'commander';
import { BENCH_CASES, bootStages, DEFAULT_GATE_POLICY, CLIENT_DIMENSION_NAMES, CLIENT_DIMENSIONS, parseClientValue, checkLoginStacks, labUsers, parseLogin, type LoginCredentials, CLIENT_MEMORY_MB, defaultRootArgFor, describeClientValues, describeNbdServers, NBD_SERVER_DIMENSION, type NbdServerVersion, parseNbdServer, CLIENT_KINDS, clientKey, clientSpec, DEFAULT_BENCH_CASES, DHCP_ROOT_ARG, type ClientDimension, type ClientSpec, parseFaults, parseServerInit, parseShard, parseTier, TIERS, RESCUE_ARGS, RESCUE_RETRY_S, ROOT_EXPORT, rootFromDhcp, SERVER_INITS, UsageError, validateAppend, validateGrep, validateRootArg, validateRootPath, type FaultSpec, type ServerInit, type TestArgs } from '../harness/index';

export interface BootOptions {
  clients: number;
  memoryMb: number;
  append?: string;
  keep: boolean;
  json: boolean;
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
  /** A user of the server to log in at each client's console once it is up (--login; docs/login.md). */
  login?: LoginCredentials;
}

/**
 * One option of a command, declared once: the parser (commander) and the help
 * (commander's formatHelp) are both made from it. The shorthand 'flag', 'value' or
 * 'list' declares an option with no help (unit tests of the parser use it).
 */
export interface OptionSpec {
  kind: 'flag' | 'value' | 'list';
  /** The value's name in the help: --clients <N>. */
  value?: string;
  /** What the option does, for its line in the help. */
  help?: string;
  /** Its known values (commander's choices): anything else is a UsageError naming them. */
  choices?: readonly string[];
  /** The lab's own check of a value (commander's argParser), in place of the choices' one: its UsageError says more. */
  parse?: (value: string) => string;
  /** Its value when not given (shown in the help; the parser returns it). */
  default?: string | number;
  /** A whole number's range, shown in the help and checked by intValue. */
  range?: { min: number; max: number; unit?: string };
  /** Options it does not go with (commander's conflicts), each with why. */
  conflicts?: Readonly<Record<string, string>>;
}

export type Spec = Record<string, 'flag' | 'value' | 'list' | OptionSpec>;

/** A command's declaration: its parser and its --help are both made from it. */
export interface CommandSpec {
  /** The command line it answers to, e.g. './lab boot'. */
  name: string;
  /** commander's usage line after the name; default from the arguments ([options] [run]). */
  usage?: string;
  /** What it does, first in its help. */
  description: string;
  /** commander argument specs such as '[run]' or '<good>'. */
  args?: readonly string[];
  options: Spec;
  /** Printed after the options: the longer explanations. */
  after?: string;
}

export interface ParsedCommandLine {
  /** Each option given, or declared with a default. */
  options: Map<string, string | string[] | true>;
  /** The options given on the command line (not from a default). */
  given: Set<string>;
  /** The positional arguments, in order (at most as many as were declared, unless the last is variadic). */
  args: string[];
}

/** The help's width, fixed: the same text in a terminal, a pipe and a golden test. */
export const HELP_WIDTH = 100;

function entryOf(entry: Spec[string]): OptionSpec {
  return typeof entry === 'string' ? { kind: entry } : entry;
}

/** The commander Command of a declaration: what parses a command's argv and writes its help. */
export function commandOf(spec: CommandSpec): Command {
  const cmd = new Command(spec.name)
    .exitOverride()
    .helpOption(false)
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    // Paragraphs are blank-line separated; commander wraps each to the help's width.
    .description(spec.description.replace(/([^\n])\n(?!\n)/g, '$1 '))
    .configureHelp({
      helpWidth: HELP_WIDTH,
      // commander's choices and default, with the range and the conflicts (which commander enforces but does not show), in one bracket.
      optionDescription(option) {
        const raw = spec.options[option.name()];
        const d = raw === undefined ? undefined : entryOf(raw);
        const extra = [
          ...(option.argChoices ? [`one of ${option.argChoices.join(', ')}`] : []),
          ...(d?.range ? [`${d.range.min}-${d.range.max}${d.range.unit === undefined ? '' : ` ${d.range.unit}`}`] : []),
          ...(option.defaultValue === undefined || option.negate ? [] : [`default ${String(option.defaultValue)}`]),
          ...(d?.conflicts ? [`not with ${Object.keys(d.conflicts).map((c) => `--${c}`).join(', ')}`] : []),
        ];
        return extra.length ? `${option.description} (${extra.join('; ')})` : option.description;
      },
    });
  if (spec.usage !== undefined) cmd.usage(spec.usage);
  for (const [name, raw] of Object.entries(spec.options)) cmd.addOption(optionOf(name, entryOf(raw)));
  for (const p of spec.args ?? []) cmd.argument(p);
  if (spec.after !== undefined) cmd.addHelpText('after', `\n${spec.after.replace(/\n$/, '')}`);
  return cmd;
}

function optionOf(name: string, o: OptionSpec): Option {
  const meta = o.value ?? 'value';
  const option = new Option(o.kind === 'flag' ? `--${name}` : `--${name} <${meta}>`, o.help);
  if (o.choices) option.choices(o.choices);
  if (o.default !== undefined) option.default(o.default);
  if (o.conflicts) option.conflicts(Object.keys(o.conflicts).map(camel));
  // commander's own choice check is its argParser, which ours replace: checked here.
  const chosen = o.parse ?? ((v: string): string => {
    if (o.choices && !o.choices.includes(v)) throw new UsageError(`--${name} '${v}' is not one of ${o.choices.join(', ')}`);
    return v;
  });
  if (o.kind === 'list') option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), chosen(v)]);
  else if (o.kind === 'value') {
    let given = false;
    option.argParser((v: string) => {
      if (given) throw new UsageError(`--${name} is given twice`);
      given = true;
      return chosen(v);
    });
  }
  return option;
}

/** A command's --help: commander's formatHelp of its declaration. */
export function helpOf(spec: CommandSpec): string {
  let text = '';
  // outputHelp, not helpInformation: the text added after the options comes with it.
  commandOf(spec).configureOutput({ writeOut: (s) => (text += s) }).outputHelp();
  return text;
}

/**
 * Strict parsing on commander: unknown options, missing values, a value option given
 * twice, conflicting options and arguments beyond the declared positionals are
 * UsageErrors (exit 2). An option with a default is in the result when not given.
 */
export function parseCommand(argv: readonly string[], spec: CommandSpec): ParsedCommandLine {
  const { options: declared } = spec;
  const positionals = spec.args ?? [];
  // commander takes `--append --keep` as append='--keep'; the lab has always called that a missing value.
  for (let i = 0; i < argv.length - 1; i++) {
    const name = (argv[i] as string).slice(2);
    if ((argv[i] as string).startsWith('--') && Object.hasOwn(declared, name) && entryOf(declared[name] as Spec[string]).kind !== 'flag' && (argv[i + 1] as string).startsWith('--')) {
      throw new UsageError(`--${name} needs a value`);
    }
  }
  const cmd = commandOf(spec);
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
  const given = new Set<string>();
  const values = cmd.opts<Record<string, string | string[] | number | boolean | undefined>>();
  for (const [name, raw] of Object.entries(declared)) {
    const kind = entryOf(raw).kind;
    // commander reads a --no-X flag as X = false (and X's default true).
    const v = kind === 'flag' && name.startsWith('no-') ? (values[camel(name.slice(3))] === false ? true : undefined) : values[camel(name)];
    if (v !== undefined && v !== false) options.set(name, typeof v === 'number' ? String(v) : v);
    if (cmd.getOptionValueSource(camel(name.replace(/^no-/, ''))) === 'cli') given.add(name);
  }
  return { options, given, args: cmd.args };
}

/** Parsing with an inline spec: `positionals` are commander argument specs such as '[run]'. */
export function parseCommandLine(argv: readonly string[], spec: Spec, positionals: readonly string[] = []): ParsedCommandLine {
  return parseCommand(argv, { name: 'lab', description: '', options: spec, args: positionals });
}

/** Options only: any positional argument is a UsageError. */
export function parseOptions(argv: readonly string[], spec: Spec): Map<string, string | string[] | true> {
  return parseCommandLine(argv, spec).options;
}

/** commander's attribute name for an option (--report-dir: reportDir). */
function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function usageErrorOf(e: unknown, spec: CommandSpec): unknown {
  if (e instanceof UsageError || !(e instanceof CommanderError)) return e;
  const declared = spec.options;
  const known = { hint: `known options: ${Object.keys(declared).map((k) => `--${k}`).join(' ')}` };
  const said = e.message.replace(/^error: /, '');
  switch (e.code) {
    case 'commander.unknownOption': {
      const [option, ...rest] = said.replace(/^unknown option '(.*?)'/, '$1\n').split('\n');
      const flag = (option ?? '').replace(/=.*$/, '');
      if (flag !== option && Object.hasOwn(declared, flag.slice(2))) return new UsageError(`${flag} takes no value`);
      const guess = rest.join(' ').trim();
      return new UsageError(`unknown option '${flag.startsWith('--') ? flag : option}'${guess ? ` ${guess}` : ''}`, known);
    }
    case 'commander.optionMissingArgument':
      return new UsageError(`${said.replace(/^option '(--[\w-]+).*$/s, '$1')} needs a value`);
    case 'commander.conflictingOption': {
      // option '--compare' cannot be used with option '--keep': the first declares why.
      const [a, b] = [...said.matchAll(/'--([\w-]+)/g)].map((m) => m[1] as string);
      const why = a === undefined || b === undefined ? undefined : entryOf(declared[a] as Spec[string]).conflicts?.[b];
      return new UsageError(`--${a} and --${b} do not go together${why ? `: ${why}` : ''}`, { hint: `see ${spec.name} --help`, cause: e });
    }
    default:
      return new UsageError(said);
  }
}

/** A whole-number option's value, checked against its declared range (its default when not given). */
export function intValue(o: ParsedCommandLine['options'], spec: Spec, name: string): number {
  const d = entryOf(spec[name] as Spec[string]);
  if (!d.range || d.default === undefined) throw new Error(`--${name} is declared without a range and a default`);
  return intOption(o.get(name) as string | undefined, name, d.range.min, d.range.max, Number(d.default), d.range.unit === undefined ? '' : ` ${d.range.unit}`);
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

/**
 * The options that shape the k12 stack's chain only: with a client of another stack
 * (--stack ltsp23) each is refused (exit 2). Not commander's conflicts: those refuse an
 * option whatever the other's value, and --stack k12 goes with each of these.
 */
const K12_ONLY_OPTIONS = ['union', 'export', 'root-arg', 'root-path', 'nbd-server'] as const;

const NIC_MODELS = ['virtio-net-pci', 'e1000', 'rtl8139'];

const COMPARE_ROOT = "the baseline is of the lab's own root argument";

export const BOOT_SPEC = {
  clients: { kind: 'value', value: 'N', help: 'clients booting at once', range: { min: 1, max: 8 }, default: 1 },
  client: { kind: 'list', value: 'KIND', help: 'what the clients boot: once for all, or once per client in order (--clients 2 --client ltsp --client stock); see KIND below', choices: CLIENT_KINDS },
  'nbd-client': { kind: 'value', value: 'V', help: "the nbd-client in every client's initramfs (docs/nbd-grid.md)", choices: CLIENT_DIMENSIONS.nbdClient.values },
  'nbd-server': { kind: 'value', value: 'V', help: 'the nbd-server the server runs; see V below', choices: NBD_SERVER_DIMENSION.values, default: NBD_SERVER_DIMENSION.default },
  stack: {
    kind: 'value',
    value: 'STACK',
    help: 'whose chain the clients boot (docs/ltsp23-lane.md); with ltsp23, not with the k12 stack\'s own options: see STACK below',
    choices: CLIENT_DIMENSIONS.stack.values,
    default: CLIENT_DIMENSIONS.stack.default,
  },
  memory: { kind: 'value', value: 'MB', help: "each client's RAM", range: { min: CLIENT_MEMORY_MB.min, max: CLIENT_MEMORY_MB.max, unit: 'MB' }, default: CLIENT_MEMORY_MB.default },
  append: { kind: 'value', value: 'ARGS', help: 'extra kernel arguments' },
  union: {
    kind: 'value',
    value: 'M',
    help: "the copy-on-write root over the read-only NBD root (docs/union-methods.md); none: the plain read-only root; see M below",
    choices: CLIENT_DIMENSIONS.union.values,
    parse: (v) => parseClientValue('union', v),
    default: CLIENT_DIMENSIONS.union.default,
  },
  export: { kind: 'value', value: 'NAME', help: 'the NBD export to ask for', default: ROOT_EXPORT },
  nic: { kind: 'value', value: 'MODEL', help: "the clients' NIC", choices: NIC_MODELS, default: 'virtio-net-pci' },
  mac: { kind: 'list', value: 'MAC', help: "a client's MAC, once per client" },
  keep: { kind: 'flag', help: 'leave the lab up, whether the boots pass or fail, until Ctrl-C or ./lab stop RUN (see --keep below)' },
  json: { kind: 'flag', help: 'the timeline as JSON on stdout' },
  report: { kind: 'value', value: 'DIR', help: 'the report folder (default reports/boot-<run>/)' },
  compare: {
    kind: 'flag',
    help: 'judge the boot against the baseline (see ./lab baseline --help)',
    conflicts: {
      fault: 'the gate judges boots of the unchanged stack',
      keep: 'the gate stops the clients it judged to boot more',
      'root-arg': COMPARE_ROOT,
      'root-path': COMPARE_ROOT,
    },
  },
  retries: { kind: 'value', value: 'K', help: 'with --compare: boot again up to K times before calling a regression', range: { min: 0, max: 5 } },
  fault: { kind: 'list', value: 'F', help: 'apply a field fault during the boot, and report whether each client recovered (exit 4 when one did not); repeatable; F is KIND[:ARG][@WHEN], see below' },
  'root-arg': { kind: 'value', value: 'ARGS', help: "the root argument(s) in place of the lab's root=nbd:{server}:{export}:ext4:ro (see below)" },
  'root-path': { kind: 'value', value: 'PATH', help: 'the DHCP root-path dnsmasq sends the initramfs (not iPXE), e.g. nbd:{server}:{export}:ext4:ro (see below)' },
  'server-init': { kind: 'value', value: 'I', help: 'what runs as PID 1 in the server container (see below)', choices: SERVER_INITS, parse: parseServerInit, default: 'entrypoint' },
  login: {
    kind: 'value',
    value: 'USER[:PASSWORD]',
    help: `once a client is up, log this user of the server in at its console, the stack's way, and add "session up" to its timeline (docs/login.md); the lab's users: ${labUsers().map((u) => u.name).join(', ')} (vm-images/server/lab-users, whose password is the default)`,
    conflicts: { compare: 'the baselines are boots to the login prompt' },
  },
} as const satisfies Spec;

/** The lines of a value list in the help's explanations. */
const indent = '    ';

/** The stacks other than the default (k12), each with what its clients boot (the client spec's answer) and the options it refuses. */
function otherStacksHelp(): string {
  const d = CLIENT_DIMENSIONS;
  return d.stack.values
    .filter((stack) => stack !== d.stack.default)
    .map((stack) => {
      const fixed = clientSpec({ stack });
      return wrapped(`With ${stack}, the clients boot what its image holds (${d.kind.option} ${fixed.kind}, ${d.nbdClient.option} ${fixed.nbdClient}; other values are refused), and the k12 stack's own options are refused: ${K12_ONLY_OPTIONS.map((n) => `--${n}`).join(', ')}.`);
    })
    .join('\n');
}

/** A generated paragraph of the text after the options, wrapped as the hand-written ones are (commander wraps only the options and the description). */
function wrapped(text: string, width = 90): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.join('\n');
}

/** Each other stack's own stages, which WHEN takes too (the fault grammar reads every stack's). */
function stackStagesHelp(): string {
  const k12 = bootStages().map((st) => st.id);
  return CLIENT_DIMENSIONS.stack.values
    .filter((stack) => stack !== CLIENT_DIMENSIONS.stack.default)
    .map((stack) => `  ${stack}'s own: ${bootStages({ client: clientSpec({ stack }) }).map((st) => st.id).filter((id) => !k12.includes(id)).join(' ')}`)
    .join('\n');
}

export const BOOT_COMMAND: CommandSpec = {
  name: './lab boot',
  description: [
    'Builds or reuses the images (checking the cache, see ./lab build --help), starts the LTSP server and N thin clients, prints each client\'s boot timeline and the report folder, and tears everything down (with --keep: once stopped).',
    'Exit 0 ok, 2 usage, 3 set-up problem (no Docker, a damaged cache that cannot be rebuilt, a full report disk), 4 the stack under test failed, 5 the harness broke (Docker dying mid-run included), 6 slower than the baseline.',
  ].join('\n\n'),
  options: BOOT_SPEC,
  after: `KIND (--client); the run's first line names each client's kind:
${describeClientValues('kind', indent)}
V (--nbd-client):
${describeClientValues('nbdClient', indent)}
V (--nbd-server); oldstyle boots root=nbd:SERVER:2000:
${describeNbdServers(indent)}
M (--union):
${describeClientValues('union', indent)}
STACK (--stack):
${describeClientValues('stack', indent)}
${otherStacksHelp()}

--keep: each client's console is served from power-on (./lab attach RUN CLIENT, printed
per client; ./lab ls lists the run), and the kernel gets ${RESCUE_ARGS.join(' ')}, so a
client that fails in the initramfs is at dracut's emergency shell in about 1.5x
${RESCUE_RETRY_S} s of TCG (dracut's default: 180 s); an --export the server lacks boots too.

--root-arg: {server} is the server's address, {export} the --export name. Any form of
dracut.cmdline(7): root=nbd:SERVER:PORT|NAME[:FSTYPE[:OPTS[:NBDOPTS]]], netroot=nbd:...
with root=LABEL=ltsp-root, root=dhcp or netroot=dhcp.
--root-path: the initramfs then runs its own DHCP (ip=lab0:dhcp). Without --root-arg:
${DHCP_ROOT_ARG}.

--fault F, F is KIND[:ARG][@WHEN]:
    nbd-restart        nbd-server restarted through the server's init (its init script,
                       systemctl or service)
    nbd-stop:SECONDS   nbd-server stopped through the init, started after SECONDS
    link-down:SECONDS  the client's NIC link off (QMP set_link), on after SECONDS
    loss:PCT           PCT % of the client's frames dropped, both ways
    delay:MS           the client's frames held up to MS (QEMU filter-buffer)
    http-stop          the server's HTTP (kernel and initramfs) stops
    tftp-stop          the server's TFTP stops (DHCP goes on)
    server-kill        the server container is killed
  WHEN: a stage or start, optionally +SECONDS after it (@login+10); the stages:
    ${bootStages().map((st) => st.id).join(' ')}
${stackStagesHelp()}
  Default: loss and delay @start (the whole boot), the rest @login.
  A client is judged recovered once, with its page cache dropped, it reads a root file
  and writes to its union.

--server-init I: entrypoint (our bash supervisor), systemd (nbd-server.service,
ltsp-dnsmasq.service, ltsp-httpd.service; needs the host's hybrid cgroup v1+v2 layout) or
sysvinit (the LSB scripts in runlevel 3, driven by service(8)). Faults and ltsp-server-ctl
act through that init.
`,
};

export function parseBootArgs(argv: readonly string[]): BootOptions {
  const { options: o, given } = parseCommand(argv, BOOT_COMMAND);
  const clients = intValue(o, BOOT_SPEC, 'clients');
  const memoryMb = intValue(o, BOOT_SPEC, 'memory');
  const nic = o.get('nic') as string;
  const macs = ((o.get('mac') as string[] | undefined) ?? []).map((m) => m.toLowerCase());
  for (const m of macs) {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m)) throw new UsageError(`--mac '${m}' is not a MAC address like 52:54:00:12:34:56`);
    if (parseInt(m.slice(0, 2), 16) & 1) throw new UsageError(`--mac ${m} is a multicast address; a NIC needs a unicast one`);
  }
  const dup = macs.find((m, i) => macs.indexOf(m) !== i);
  if (dup) throw new UsageError(`--mac ${dup} is given twice: each client needs its own MAC (dnsmasq leases by MAC)`);
  if (macs.length > clients) throw new UsageError(`${macs.length} --mac given for ${clients} client(s)`);
  if (o.get('stack') !== CLIENT_DIMENSIONS.stack.default) {
    // Given, not defaulted: --union, --export and --nbd-server have defaults, which every stack parses.
    const k12Only = K12_ONLY_OPTIONS.find((n) => given.has(n));
    if (k12Only !== undefined) throw new UsageError(`--${k12Only} is for the k12 stack: the ltsp23 stack boots LTSP's image with LTSP's overlay`, { hint: 'leave it out with --stack ltsp23' });
  }
  const opts: BootOptions = {
    clients,
    memoryMb,
    keep: o.has('keep'),
    json: o.has('json'),
    exportName: o.get('export') as string,
    nic,
    macs,
    compare: o.has('compare'),
    faults: parseFaults((o.get('fault') as string[] | undefined) ?? []),
    serverInit: parseServerInit(o.get('server-init') as string),
    boots: clientsBoot((o.get('client') as string[] | undefined) ?? [], clients, {
      nbdClient: o.get('nbd-client') as string | undefined,
      stack: o.get('stack') as string,
      // Its default is the k12 stack's: another stack's clients take what that stack fixes.
      ...(given.has('union') ? { union: o.get('union') as string } : {}),
    }),
    nbdServer: parseNbdServer(o.get('nbd-server') as string),
  };
  const login = o.get('login') as string | undefined;
  if (login !== undefined) {
    opts.login = parseLogin(login);
    checkLoginStacks(opts.boots.map((b) => b.stack));
  }
  const retries = o.get('retries') as string | undefined;
  if (retries !== undefined) {
    if (!opts.compare) throw new UsageError('--retries is for --compare: how often the gate boots again before it calls a regression');
    opts.retries = intOption(retries, 'retries', BOOT_SPEC.retries.range.min, BOOT_SPEC.retries.range.max, 0);
  }
  if (opts.compare && opts.serverInit !== 'entrypoint') throw new UsageError(`--compare and --server-init ${opts.serverInit} do not go together: the baselines are boots from the default server (entrypoint)`);
  if (opts.compare && new Set(opts.boots.map((b) => clientKey(b))).size > 1) {
    throw new UsageError('--compare judges one client kind against its own baseline: give one --client for all the clients', { hint: 'the gate\'s baselines are per client kind (./lab baseline --help)' });
  }
  const append = o.get('append') as string | undefined;
  // Checked here too, so a bad --append fails before any lab exists.
  if (append !== undefined) opts.append = validateAppend(append);
  const report = o.get('report') as string | undefined;
  if (report !== undefined) opts.reportDir = report;
  Object.assign(opts, rootOptions(o.get('root-arg') as string | undefined, o.get('root-path') as string | undefined));
  // An old-style server has no names: its clients ask by port, as LTSP5's did.
  const serverRoot = defaultRootArgFor(opts.nbdServer);
  if (opts.rootArg === undefined && opts.rootPath === undefined && serverRoot !== undefined) {
    if (opts.compare) throw new UsageError(`--compare and --nbd-server ${opts.nbdServer} do not go together: ${COMPARE_ROOT}`);
    opts.rootArg = serverRoot;
  }
  return opts;
}

/**
 * What each of `clients` boots: one --client for all of them, or one per client; none: the
 * default (DEFAULT_CLIENT_SPEC). The other dimensions (--nbd-client, --stack, --union) are one for all.
 */
export function clientsBoot(kinds: readonly string[], clients: number, others: { nbdClient?: string | undefined; stack?: string | undefined; union?: string | undefined } = {}): ClientSpec[] {
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

export const BENCH_SPEC = {
  runs: { kind: 'value', value: 'N', help: 'runs of each case (default 3; client and union 5)', range: { min: 1, max: 20 } },
  case: { kind: 'list', value: 'NAME', help: `a case to run, repeatable (see the cases below; default ${DEFAULT_BENCH_CASES.join(', ')})` },
  json: { kind: 'flag', help: 'bench.json on stdout, the table on stderr' },
} as const satisfies Spec;

export const BENCH_COMMAND: CommandSpec = {
  name: './lab bench',
  description: `Boot benchmarks (issue 5): each case N times, then min / median / max, ratios, and each target met or missed. One QEMU boot at a time except where a case is about concurrency. Writes reports/bench-<run>/bench.json.

Exit 0 whatever the numbers; when a run could not be measured, the code of its failure (3 set-up, 4 a boot failed, 5 the harness broke). A full bench under TCG takes hours; LTSP_LAB_RUN_BUDGET_S caps it.`,
  options: BENCH_SPEC,
  after: `The cases:
  chain        lab (iPXE, HTTP, NBD) against bare QEMU (-kernel, local disk), union on and off
  client       the ltsp and stock clients side by side, one of each booting at once per round
               (qslot 2): per kind login, initramfs start -> NBD connected, system up -> login,
               ltsp/stock login, and issue 20's targets (ltsp login <= 15 s and <= 0.4x stock,
               initramfs -> NBD <= 3 s, system up -> login <= 5 s) met or missed
  overhead     ./lab boot --json timed from outside: spawn -> QEMU, login -> exit
  concurrency  1, 2 and 4 clients at once from one server
  images       cold build (salted keys, empty cache), warm build, dracut-module-only rebuild
  memory       QEMU RSS and server memory at login; the smallest -m that boots (bisected)
  gate         the regression gate: 10 gated runs of the unchanged stack (false alarms), then
               injected delays (ltsp.test.delay) down to the smallest the gate catches, then 10
               runs and an nbd +20 s run beside a second booting lab (qslot 2); --runs does not apply
  gate-beside  gate's lane beside a second booting lab alone: N gated runs and the nbd +20 s run (qslot 2)
  images-warm  the warm build alone (the quick check ./lab test runs)
  union        unionfs-fuse, overlayfs and no union side by side, one boot at a time, interleaved
               (docs/union-methods.md): boot to login, all of /usr read with the page cache
               dropped, 2,000 small files created then deleted (timed in the guest); default 5 runs
  storm        the recorded boot replayed by 1, 10, 30, 100 NBD clients at once (no QEMU): replay
               p95 per N, 30/1 (issue 25: <= 2x), the knee and what each candidate cause measured
`,
};

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const o = parseCommand(argv, BENCH_COMMAND).options;
  const given = o.get('runs') as string | undefined;
  const cases = (o.get('case') as string[] | undefined) ?? [...DEFAULT_BENCH_CASES];
  for (const c of cases) {
    if (!BENCH_CASES.includes(c)) throw new UsageError(`--case '${c}' is not a bench case`, { hint: `one of: ${BENCH_CASES.join(', ')}` });
  }
  const dup = cases.find((c, i) => cases.indexOf(c) !== i);
  if (dup) throw new UsageError(`--case ${dup} is given twice`);
  return { ...(given === undefined ? {} : { runs: intOption(given, 'runs', BENCH_SPEC.runs.range.min, BENCH_SPEC.runs.range.max, 0) }), cases, json: o.has('json') };
}

export interface BaselineArgs {
  update: boolean;
  runs: number;
  /** The client whose baseline --update records (each client has its own: clientKey). */
  client: ClientSpec;
}

/** A dimension's option name without its dashes ('nbd-client'). */
function optionName(d: ClientDimension): string {
  return CLIENT_DIMENSIONS[d].option.replace(/^--/, '');
}

/**
 * --client, --nbd-client, --stack, ...: one per dimension of what a client boots (the
 * client-spec table), so a baseline can be recorded of any client ./lab boot --compare judges.
 */
const BASELINE_CLIENT_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.fromEntries(
  CLIENT_DIMENSION_NAMES.map((d) => [
    optionName(d),
    { kind: 'value', value: d.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(), help: `with --update: record the baseline of a client of this ${d === 'kind' ? 'kind' : optionName(d)} (see below)`, choices: CLIENT_DIMENSIONS[d].values },
  ]),
);

export const BASELINE_SPEC = {
  update: { kind: 'flag', help: `boot the unchanged stack N times, ${DEFAULT_GATE_POLICY.clientsAtOnce} clients at once, and write this host's baseline for the client (an odd N boots one more)` },
  runs: { kind: 'value', value: 'N', help: 'with --update: how many boots the new baseline holds', range: { min: 2, max: 20 }, default: 6 },
  ...BASELINE_CLIENT_OPTIONS,
} as const satisfies Spec;

export const BASELINE_COMMAND: CommandSpec = {
  name: './lab baseline',
  description: `The boot-time baselines the regression gate (./lab boot --compare) judges against, one per host profile and client (accelerator, cores and what the client boots, e.g. tcg-2cpu-ltsp, tcg-2cpu-stock-stack-ltsp23), kept in fixtures/baselines/. A baseline of one client is never compared with boots of another. Without an option: every baseline, each stage's median and spread.`,
  options: BASELINE_SPEC,
  after: CLIENT_DIMENSION_NAMES.map((d) => `${CLIENT_DIMENSIONS[d].option}:\n${describeClientValues(d, '    ')}\n`).join(''),
};

export function parseBaselineArgs(argv: readonly string[]): BaselineArgs {
  const { options: o, given } = parseCommand(argv, BASELINE_COMMAND);
  if (given.has('runs') && !o.has('update')) throw new UsageError('--runs is for --update: how many boots the new baseline holds');
  const dims = CLIENT_DIMENSION_NAMES.flatMap((d) => {
    const v = o.get(optionName(d));
    return typeof v === 'string' ? [[d, v] as const] : [];
  });
  const first = dims[0];
  if (first !== undefined && !o.has('update')) {
    throw new UsageError(`${CLIENT_DIMENSIONS[first[0]].option} is for --update: which client's baseline to record (without --update every baseline is printed)`);
  }
  return { update: o.has('update'), runs: intValue(o, BASELINE_SPEC, 'runs'), client: clientSpec(Object.fromEntries(dims)) };
}

/** ./lab report [RUN]'s options (--merge has its own, MERGE_SPEC). */
export const REPORT_SPEC = {
  against: { kind: 'value', value: 'OTHER', help: 'each stage\'s time in RUN against OTHER, per client, with the difference' },
  'record-durations': {
    kind: 'flag',
    help: "write RUN's end-to-end files' times to fixtures/test-durations.json, the weights ./lab test --shard balances by; RUN must be a whole ./lab test run: unsharded or merged, without --grep",
    conflicts: { against: 'one run\'s durations are recorded, not a comparison' },
  },
} as const satisfies Spec;

/** ./lab test's options (the ./lab script hands them to cli/test-plan.ts). */
export const TEST_SPEC = {
  grep: { kind: 'value', value: 'PATTERN', help: "run only the tests whose full title matches PATTERN (a regular expression, as mocha's --grep), unit and end-to-end (within the tier)" },
  shard: {
    kind: 'value',
    value: 'I/N',
    help: 'run shard I of N of the end-to-end files, on one of N runners. The files are split by their recorded times (fixtures/test-durations.json; a file not in it weighs as the median one), longest first to the least loaded shard, the same on every runner. Shard 1 also runs the checks and unit tests (their time is counted in its share); the others skip them. Merge the shards\' run folders with ./lab report --merge DIR...',
  },
  tier: {
    kind: 'value',
    value: 'TIER',
    choices: TIERS,
    parse: parseTier,
    help: 'smoke: the checks, the unit tests and the end-to-end tests tagged @smoke (a few boots: the chain, two clients, stateless, read-only, one fault, the report page, bad input); full (the default): every end-to-end test. Each test declares its tier in its title or a describe\'s (@smoke or @full); a test of none fails the run',
  },
  'no-checks': { kind: 'flag', help: 'skip the type-check, lint and unit tests: only the end-to-end scenarios' },
} as const satisfies Spec;

/** ./lab test: the lab script runs it (cli/test-plan.ts parses its options); its help is here. */
export const TEST_COMMAND: CommandSpec = {
  name: './lab test',
  description: "Type-checks (tsc --noEmit), lints (eslint, shellcheck), runs the unit tests (no Docker, no QEMU) and the end-to-end scenarios (scenarios/**/*.e2e.ts), and writes the run's report to reports/test-<date>/ (results.json, junit.xml, index.html). Unsharded, in two lanes at once: the e2e files that boot QEMU guests, their output as they go; beside them the checks, then the files that boot nothing (harness/shard/lanes.ts), their output in reports/test-<date>/guestless-lane.log, shown at the end. Failed checks stop the other lane. Each lane's report is a part of the run's (part-1, part-2), merged. Exit 0 when all passed, 1 when a check or test failed, 2 usage, 3 set-up problem.",
  options: TEST_SPEC,
  after: `Environment: LTSP_LAB_TEST_RUN (the run folder's name, default test-<date>),
LTSP_LAB_REPORTS (where reports go, default reports/), LTSP_LAB_TEST_DURATIONS (another
record to split by, default fixtures/test-durations.json). After a whole run,
./lab report RUN --record-durations writes its files' times to fixtures/test-durations.json.
`,
};

/** ./lab setup: the lab script runs it; its help is here. */
export const SETUP_COMMAND: CommandSpec = {
  name: './lab setup',
  description: 'Installs what is missing (Debian packages, npm modules) and starts Docker, then stops. Every other command does this first too.',
  options: {},
};

export function parseTestArgs(argv: readonly string[]): TestArgs {
  const o = parseCommand(argv, TEST_COMMAND).options;
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
export const MERGE_SPEC = {
  merge: {
    kind: 'flag',
    help: "merge the run folders DIR... of ./lab test --shard 1/N ... N/N into one report (results.json, junit.xml, index.html; each shard's folder copied under it as shard-I/). Refused: a DIR that is no run folder, shards of different commits, images, --grep or N, a missing or doubled shard, and a test in two of them",
  },
  out: { kind: 'value', value: 'DIR', help: 'with --merge: where the merged report goes (default reports/test-merged-<date>/)' },
} as const satisfies Spec;

/** ./lab report RUN's options (cli/report.ts). */
export const REPORT_COMMAND: CommandSpec = {
  name: './lab report',
  usage: '[RUN] [--against OTHER | --record-durations]\n       ./lab report --merge DIR... [--out DIR]',
  description: "Prints a run's boot timeline as a table (the one its index.html draws) and the page's path. RUN is a run id from reports/ (e.g. boot-k3x9qe), a run folder, or latest (the default).",
  args: ['[run]'],
  options: REPORT_SPEC,
};

export const MERGE_COMMAND: CommandSpec = { ...REPORT_COMMAND, args: ['[dirs...]'], options: MERGE_SPEC };

/** ./lab report's help: both forms' options (cli/report.ts parses one or the other). */
export const REPORT_HELP: CommandSpec = { ...REPORT_COMMAND, options: { ...REPORT_SPEC, ...MERGE_SPEC } };

export function parseMergeArgs(argv: readonly string[]): MergeArgs {
  const { options: o, args } = parseCommand(argv, MERGE_COMMAND);
  const dirs = args;
  if (dirs.length === 0) throw new UsageError('--merge needs the run folders to merge', { hint: 'e.g. ./lab report --merge shard-1/test-20261202-031500 shard-2/test-20261202-031502' });
  const out = o.get('out') as string | undefined;
  return { dirs, ...(out === undefined ? {} : { out }) };
}

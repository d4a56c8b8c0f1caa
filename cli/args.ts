import { BENCH_CASES, DEFAULT_BENCH_CASES, parseFaults, parseServerInit, UsageError, validateAppend, type FaultSpec, type ServerInit } from '../harness/index';

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
  /** What runs as PID 1 in the server container (harness/server/server-init.ts). */
  serverInit: ServerInit;
}

type Spec = Record<string, 'flag' | 'value' | 'list'>;

/** Strict option parsing: unknown options and missing values are UsageErrors. */
export function parseOptions(argv: readonly string[], spec: Spec): Map<string, string | string[] | true> {
  const out = new Map<string, string | string[] | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`, { hint: 'options start with --; see ./lab help' });
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    // Own keys only: '--constructor' must not find Object.prototype's.
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!kind) {
      throw new UsageError(`unknown option '--${name}'`, { hint: `known options: ${Object.keys(spec).map((k) => `--${k}`).join(' ')}` });
    }
    if (kind === 'flag') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      out.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (kind === 'list') out.set(name, [...((out.get(name) as string[] | undefined) ?? []), value]);
    else if (out.has(name)) throw new UsageError(`--${name} is given twice`);
    else out.set(name, value);
  }
  return out;
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
  'server-init': 'value',
};

const NIC_MODELS = ['virtio-net-pci', 'e1000', 'rtl8139'];

export function parseBootArgs(argv: readonly string[]): BootOptions {
  const o = parseOptions(argv, BOOT_SPEC);
  const clients = intOption(o.get('clients') as string | undefined, 'clients', 1, 8, 1);
  const memoryMb = intOption(o.get('memory') as string | undefined, 'memory', 128, 8192, 384, ' MB');
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
    exportName: (o.get('export') as string | undefined) ?? 'root',
    nic,
    macs,
    compare: o.has('compare'),
    faults: parseFaults((o.get('fault') as string[] | undefined) ?? []),
    serverInit: parseServerInit((o.get('server-init') as string | undefined) ?? 'entrypoint'),
  };
  if (opts.compare && opts.faults.length > 0) throw new UsageError('--compare and --fault do not go together: the gate judges boots of the unchanged stack');
  const retries = o.get('retries') as string | undefined;
  if (retries !== undefined) {
    if (!opts.compare) throw new UsageError('--retries is for --compare: how often the gate boots again before it calls a regression');
    opts.retries = intOption(retries, 'retries', 0, 5, 0);
  }
  if (opts.compare && opts.serverInit !== 'entrypoint') throw new UsageError(`--compare and --server-init ${opts.serverInit} do not go together: the baselines are boots from the default server (entrypoint)`);
  if (opts.compare && opts.keep) throw new UsageError('--compare and --keep do not go together: the gate stops the clients it judged to boot more');
  const append = o.get('append') as string | undefined;
  // Checked here too, so a bad --append fails before any lab exists.
  if (append !== undefined) opts.append = validateAppend(append);
  const report = o.get('report') as string | undefined;
  if (report !== undefined) opts.reportDir = report;
  return opts;
}

export interface BenchArgs {
  runs: number;
  cases: string[];
  json: boolean;
}

export const BENCH_SPEC: Spec = { runs: 'value', case: 'list', json: 'flag' };

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const o = parseOptions(argv, BENCH_SPEC);
  const runs = intOption(o.get('runs') as string | undefined, 'runs', 1, 20, 3);
  const cases = (o.get('case') as string[] | undefined) ?? [...DEFAULT_BENCH_CASES];
  for (const c of cases) {
    if (!BENCH_CASES.includes(c)) throw new UsageError(`--case '${c}' is not a bench case`, { hint: `one of: ${BENCH_CASES.join(', ')}` });
  }
  const dup = cases.find((c, i) => cases.indexOf(c) !== i);
  if (dup) throw new UsageError(`--case ${dup} is given twice`);
  return { runs, cases, json: o.has('json') };
}

export interface BaselineArgs {
  update: boolean;
  runs: number;
}

export const BASELINE_SPEC: Spec = { update: 'flag', runs: 'value' };

export function parseBaselineArgs(argv: readonly string[]): BaselineArgs {
  const o = parseOptions(argv, BASELINE_SPEC);
  const runs = o.get('runs') as string | undefined;
  if (runs !== undefined && !o.has('update')) throw new UsageError('--runs is for --update: how many boots the new baseline holds');
  return { update: o.has('update'), runs: intOption(runs, 'runs', 2, 20, 6) };
}

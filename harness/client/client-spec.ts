import { UsageError } from '../common/errors';

/**
 * What a client boots: one value the images, the server's paths, the iPXE script, the
 * stage table, the gate's baseline and the report all read (STYLE.md: one idea per
 * dimension). Each dimension is one entry of CLIENT_DIMENSIONS: its known values, its
 * default, the ./lab option that sets it and what each value is. Adding one (the stack,
 * the union method, the nbd-client version) is one entry here and one field of
 * ClientSpec; parsing, validation, the results.json schema, the label and the baseline
 * key follow from the table.
 */
export const CLIENT_DIMENSIONS = {
  kind: {
    values: ['ltsp', 'stock'],
    // stock until the ltsp client comes through nbd-restart@login every time: 1 of 2 such
    // boots hung after the reconnect (a request requeued by the 2 s timer, then no I/O).
    default: 'stock',
    option: '--client',
    about: {
      ltsp: "the lab's LTSP-only kernel (no modules), a shell dracut initramfs like EL-6's",
      stock: "Debian's stock kernel and dracut's systemd initramfs",
    },
  },
  // The system whose chain boots (docs/ltsp23-lane.md): the seed's EL-6 port, or the one it mimics.
  stack: {
    values: ['k12', 'ltsp23'],
    default: 'k12',
    option: '--stack',
    about: {
      k12: "the K12Linux-style chain under test: the lab's server, dracut, an ext4 NBD root, the unionfs-fuse union",
      ltsp23: "bookworm's LTSP 23 chain: ltsp image/kernel/initrd/ipxe, initramfs-tools' NBD root, LTSP's overlayfs and ltsp init",
    },
  },
} as const satisfies Record<string, Dimension>;

interface Dimension {
  values: readonly string[];
  default: string;
  option: string;
  about: Readonly<Record<string, string>>;
}

type Dimensions = typeof CLIENT_DIMENSIONS;
export type ClientDimension = keyof Dimensions;

/** What one client boots: a value of each dimension. */
export type ClientSpec = { readonly [D in ClientDimension]: Dimensions[D]['values'][number] };

/** The client kind: its kernel and initramfs (ltsp: the lab's own; stock: Debian's). */
export type ClientKind = ClientSpec['kind'];

/** The stack whose chain the client boots (k12: the seed's; ltsp23: Debian's LTSP 23). */
export type ClientStack = ClientSpec['stack'];

/** Every known client kind, in the order the CLI and the report list them. */
export const CLIENT_KINDS: readonly ClientKind[] = CLIENT_DIMENSIONS.kind.values;

const DIMENSION_NAMES = Object.keys(CLIENT_DIMENSIONS) as ClientDimension[];

function dimension(d: ClientDimension): Dimension {
  return CLIENT_DIMENSIONS[d];
}

/** What a client boots unless told otherwise: each dimension's default. */
export const DEFAULT_CLIENT_SPEC: ClientSpec = Object.freeze(
  Object.fromEntries(DIMENSION_NAMES.map((d) => [d, dimension(d).default])) as ClientSpec,
);

/** Reads one dimension's value as a user gave it (`--client stock`): a UsageError (exit 2) names the known values. */
export function parseClientValue<D extends ClientDimension>(d: D, raw: string): ClientSpec[D] {
  const dim = dimension(d);
  if (!dim.values.includes(raw)) {
    throw new UsageError(`${dim.option} '${raw}' is not one of ${dim.values.join(', ')}`, {
      hint: dim.values.map((v) => `${v}: ${dim.about[v] ?? ''}`).join('; '),
    });
  }
  return raw as ClientSpec[D];
}

/** A spec from the values given, each dimension not given at its default; every value is checked. */
export function clientSpec(given: Partial<Record<ClientDimension, string>> = {}): ClientSpec {
  const out: Record<string, string> = {};
  for (const d of DIMENSION_NAMES) out[d] = given[d] === undefined ? dimension(d).default : parseClientValue(d, given[d]);
  return Object.freeze(out) as ClientSpec;
}

/**
 * The dimensions a file written before them may lack: every one after the first (kind).
 * Such a record booted that dimension's default (a baseline from before the stack
 * existed is of the k12 stack), so it reads as that (storedClientSpec).
 */
const LATER_DIMENSIONS = DIMENSION_NAMES.slice(1);

/** Why `data` (read from a file: a baseline, a results.json) is not a ClientSpec, or undefined when it is one. */
export function clientSpecProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not an object';
  const o = data as Record<string, unknown>;
  for (const d of DIMENSION_NAMES) {
    const v = o[d];
    if (v === undefined && LATER_DIMENSIONS.includes(d)) continue;
    if (typeof v !== 'string' || !dimension(d).values.includes(v)) return `${d} is ${JSON.stringify(v)}, not one of ${dimension(d).values.join(', ')}`;
  }
  const extra = Object.keys(o).find((k) => !(DIMENSION_NAMES as string[]).includes(k));
  return extra === undefined ? undefined : `it has an unknown dimension '${extra}'`;
}

/** A spec read from a file that clientSpecProblem accepts, each dimension it lacks at its default. */
export function storedClientSpec(data: unknown): ClientSpec | undefined {
  if (clientSpecProblem(data) !== undefined) return undefined;
  return clientSpec(data as Partial<Record<ClientDimension, string>>);
}

/** Whether two specs boot the same thing. */
export function sameClient(a: ClientSpec, b: ClientSpec): boolean {
  return DIMENSION_NAMES.every((d) => a[d] === b[d]);
}

/**
 * The values that tell a spec apart: the first dimension's (kind), then each later one
 * that is not at its default. A spec of the defaults keeps the label and key it had
 * before the later dimensions existed (the gate's baselines are filed by the key).
 */
function tellingValues(spec: ClientSpec): string[] {
  return DIMENSION_NAMES.filter((d, i) => i === 0 || spec[d] !== dimension(d).default).map((d) => spec[d] ?? dimension(d).default);
}

/** What a person reads: 'ltsp', 'stock ltsp23' (see tellingValues). */
export function clientLabel(spec: ClientSpec): string {
  return tellingValues(spec).join(' ');
}

/** A file-name-safe key of the spec, e.g. for the gate's baseline of it: 'ltsp', 'stock-ltsp23'. */
export function clientKey(spec: ClientSpec): string {
  return tellingValues(spec).join('-');
}

/** One line per value of a dimension, for usage texts: "  ltsp   the lab's ...". */
export function describeClientValues(d: ClientDimension, indent = '  '): string {
  const dim = dimension(d);
  const width = Math.max(...dim.values.map((v) => v.length));
  return dim.values.map((v) => `${indent}${v.padEnd(width)}  ${dim.about[v] ?? ''}${v === dim.default ? ' (default)' : ''}`).join('\n');
}

/**
 * The JSON Schema of a ClientSpec (results.json's `client` of each client): made from
 * the dimensions table, so the schema file holds no second copy of the known values.
 */
export function clientSpecSchema(): object {
  return {
    description: 'What the client booted (harness/client/client-spec.ts): one value per dimension.',
    type: 'object',
    additionalProperties: false,
    // A record from before a later dimension existed lacks it (LATER_DIMENSIONS).
    required: DIMENSION_NAMES.filter((d) => !LATER_DIMENSIONS.includes(d)),
    properties: Object.fromEntries(DIMENSION_NAMES.map((d) => [d, { enum: [...dimension(d).values] }])),
  };
}

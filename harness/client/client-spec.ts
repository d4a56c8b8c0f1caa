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
    default: 'ltsp',
    option: '--client',
    about: {
      ltsp: "the lab's LTSP-only kernel (no modules), a shell dracut initramfs like EL-6's",
      stock: "Debian's stock kernel and dracut's systemd initramfs",
    },
  },
  // The nbd-client in the initramfs (issue 24, docs/nbd-grid.md); the same list as
  // vm-images/nbd/versions.sh's NBD_VERSIONS (nbd-versions.test.ts keeps them equal).
  nbdClient: {
    values: ['3.21', '3.24', '3.26', '3.27'],
    default: '3.24',
    option: '--nbd-client',
    about: {
      '3.21': "bullseye's nbd-client, its binary package with bullseye's loader and libraries",
      '3.24': "bookworm's own nbd-client (the stock one)",
      '3.26': "trixie's nbd 3.26.1, built here from its Debian source package",
      '3.27': "sid's nbd-client, its binary package with sid's loader and libraries",
    },
  },
  // The system whose chain boots (issue 23, docs/ltsp23-lane.md): the seed's EL-6 port,
  // or the Debian LTSP it mimics. An ltsp23 client boots the image's own Debian kernel and
  // initramfs-tools, with bookworm's nbd-client: kind and nbdClient stay at their defaults.
  stack: {
    values: ['k12', 'ltsp23'],
    default: 'k12',
    option: '--stack',
    about: {
      k12: "the K12Linux-style chain under test: dracut, an ext4 NBD root, unionfs-fuse",
      ltsp23: "bookworm's LTSP 23 chain: initramfs-tools' NBD root, LTSP's overlayfs and ltsp init",
    },
  },
  // The copy-on-write root the k12 stack's dracut module lays over the read-only NBD root
  // (issue 23, docs/union-methods.md; vm-images/client/dracut/90ltsp-union/ltsp-union-method.sh
  // reads the same names from the kernel command line, union-method.test.ts keeps them equal).
  union: {
    values: ['unionfs-fuse', 'overlayfs', 'none'],
    default: 'unionfs-fuse',
    option: '--union',
    about: {
      'unionfs-fuse': "the seed's: unionfs-fuse in user space, a tmpfs over the NBD root",
      overlayfs: "the kernel's overlay (what Debian's LTSP lays), a tmpfs upper over the NBD root",
      none: 'no union: the plain read-only NBD root',
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

/** How the k12 stack's client lays its copy-on-write root (none: the read-only root as served). */
export type UnionMethod = ClientSpec['union'];

/** Every known client kind, in the order the CLI and the report list them. */
export const CLIENT_KINDS: readonly ClientKind[] = CLIENT_DIMENSIONS.kind.values;

const DIMENSION_NAMES = Object.keys(CLIENT_DIMENSIONS) as ClientDimension[];

/** The dimensions, in the table's order (the first, the kind, is in every record). */
export const CLIENT_DIMENSION_NAMES: readonly ClientDimension[] = DIMENSION_NAMES;

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

/**
 * What a stack fixes of the other dimensions. The ltsp23 stack boots what its image holds:
 * Debian's stock kernel (with initramfs-tools, not dracut), bookworm's own nbd-client and
 * LTSP's own overlayfs (its initrd-bottom, not our dracut module).
 */
const STACK_FIXES: Readonly<Record<ClientStack, Partial<Record<ClientDimension, string>>>> = {
  k12: {},
  ltsp23: { kind: 'stock', nbdClient: '3.24', union: 'overlayfs' },
};

/**
 * A spec from the values given, each dimension not given at what the stack fixes, else at
 * its default (the ltsp23 stack's kind is stock, whatever the kind's default); every value
 * is checked, and so is what the stack fixes.
 */
export function clientSpec(given: Partial<Record<ClientDimension, string>> = {}): ClientSpec {
  const stack = given.stack === undefined ? CLIENT_DIMENSIONS.stack.default : parseClientValue('stack', given.stack);
  const fixes: Partial<Record<ClientDimension, string>> = STACK_FIXES[stack];
  const out: Record<string, string> = {};
  for (const d of DIMENSION_NAMES) out[d] = given[d] === undefined ? (fixes[d] ?? dimension(d).default) : parseClientValue(d, given[d]);
  for (const [d, v] of Object.entries(fixes) as [ClientDimension, string][]) {
    if (out[d] !== v) {
      throw new UsageError(`${dimension(d).option} ${out[d]} is for the k12 stack: the ${stack} stack boots what its image holds (${dimension(d).option} ${v})`, {
        hint: `leave ${dimension(d).option} out with ${dimension('stack').option} ${stack}`,
      });
    }
  }
  return Object.freeze(out) as ClientSpec;
}

/**
 * Why `data` (read from a file: a baseline, a results.json) is not a ClientSpec, or
 * undefined when it is one. A file older than a dimension lacks it: it booted that
 * dimension's default (every dimension after the first, which every file has).
 */
export function clientSpecProblem(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'not an object';
  const o = data as Record<string, unknown>;
  for (const d of DIMENSION_NAMES) {
    const v = o[d];
    if (v === undefined && d !== DIMENSION_NAMES[0]) continue;
    if (typeof v !== 'string' || !dimension(d).values.includes(v)) return `${d} is ${JSON.stringify(v)}, not one of ${dimension(d).values.join(', ')}`;
  }
  const extra = Object.keys(o).find((k) => !(DIMENSION_NAMES as string[]).includes(k));
  return extra === undefined ? undefined : `it has an unknown dimension '${extra}'`;
}

/** A dimension's value in a spec; when the spec (read from an older file) lacks it, what its stack fixes, else its default. */
function valueOf(spec: ClientSpec, d: ClientDimension): string {
  const given = spec[d] as string | undefined;
  if (given !== undefined) return given;
  const fixes: Partial<Record<ClientDimension, string>> = STACK_FIXES[(spec.stack as ClientStack | undefined) ?? CLIENT_DIMENSIONS.stack.default];
  return fixes[d] ?? dimension(d).default;
}

/** Whether two specs boot the same thing. */
export function sameClient(a: ClientSpec, b: ClientSpec): boolean {
  return DIMENSION_NAMES.every((d) => valueOf(a, d) === valueOf(b, d));
}

/**
 * The values a person or a file name needs: the first dimension's always, each later
 * one's only when it is neither its default nor what the spec's stack fixes, so that a
 * spec of defaults reads (and keys its baseline) as it did before that dimension existed,
 * and an ltsp23 client does not show its stack's own union. A later value is tagged with
 * its option's name ('nbd-client 3.21').
 */
function shownValues(spec: ClientSpec): string[] {
  const fixes: Partial<Record<ClientDimension, string>> = STACK_FIXES[valueOf(spec, 'stack') as ClientStack];
  return DIMENSION_NAMES.flatMap((d, i) => {
    const v = valueOf(spec, d);
    if (i === 0) return [v];
    return v === dimension(d).default || v === fixes[d] ? [] : [`${dimension(d).option.replace(/^--/, '')} ${v}`];
  });
}

/**
 * The command-line words that ask for this spec (`--client stock --nbd-client 3.21`,
 * `--stack ltsp23`): the stack when it is not the default, and each other dimension whose
 * value is not the one the stack gives anyway; so `clientSpec` of them gives the spec back.
 */
export function clientSpecArgv(spec: ClientSpec): string[] {
  const implied = clientSpec({ stack: valueOf(spec, 'stack') });
  return DIMENSION_NAMES.flatMap((d) => {
    const v = valueOf(spec, d);
    const unasked = d === 'stack' ? dimension(d).default : valueOf(implied, d);
    return v === unasked ? [] : [dimension(d).option, v];
  });
}

/** What a person reads: 'ltsp', 'stock nbd-client 3.21' (the first dimension, then each one not at its default). */
export function clientLabel(spec: ClientSpec): string {
  return shownValues(spec).join(' ');
}

/** A file-name-safe key of the spec, e.g. for the gate's baseline of it: 'ltsp', 'stock-nbd-client-3.21'. */
export function clientKey(spec: ClientSpec): string {
  return shownValues(spec).join('-').replace(/ /g, '-');
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
    required: [DIMENSION_NAMES[0]],
    properties: Object.fromEntries(DIMENSION_NAMES.map((d) => [d, { enum: [...dimension(d).values] }])),
  };
}

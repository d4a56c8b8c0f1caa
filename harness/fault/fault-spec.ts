import { UsageError } from '../common/errors';
import { ALL_STAGE_IDS } from '../results/stage-ids';

/**
 * A field fault, as `./lab boot --fault KIND[:ARG][@WHEN]` names it: what breaks, for how
 * long or how much, and when in the boot it breaks.
 *
 *   nbd-restart          the seed's init script restarts nbd-server (/etc/init.d/nbd-server restart)
 *   nbd-stop:SECONDS     nbd-server stopped through its init script, started again after SECONDS
 *   link-down:SECONDS    the client's NIC loses its link (QMP set_link off), back after SECONDS
 *   loss:PCT             tc netem drops PCT % of the packets sent to the client, until it stops
 *   delay:MS             tc netem delays every packet sent to the client by MS, until it stops
 *   http-stop            the server's HTTP daemon stops (the kernel and initramfs fetch)
 *   tftp-stop            the server's TFTP stops (dnsmasq goes on with DHCP only)
 *   server-kill          the server container is killed (docker kill: SIGKILL)
 *
 * WHEN is a boot stage id (`@nbd`, `@login`), optionally with seconds after it
 * (`@login+10`), or `start` (the moment the clients power on). Without @WHEN, loss and
 * delay hold for the whole boot and the rest strike at login.
 */
export const FAULT_KINDS = ['nbd-restart', 'nbd-stop', 'link-down', 'loss', 'delay', 'http-stop', 'tftp-stop', 'server-kill'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Where a fault acts: on the server (every client sees it) or on each client's own link. */
export type FaultScope = 'server' | 'client';

interface KindDef {
  scope: FaultScope;
  /** The argument's name and unit, when the kind takes one. */
  arg?: { name: string; unit: string; min: number; max: number };
  /** The default @WHEN. */
  when: string;
}

const KINDS: Readonly<Record<FaultKind, KindDef>> = {
  'nbd-restart': { scope: 'server', when: 'login' },
  'nbd-stop': { scope: 'server', arg: { name: 'SECONDS', unit: 's', min: 1, max: 600 }, when: 'login' },
  'link-down': { scope: 'client', arg: { name: 'SECONDS', unit: 's', min: 1, max: 600 }, when: 'login' },
  loss: { scope: 'client', arg: { name: 'PCT', unit: '%', min: 0, max: 100 }, when: 'start' },
  delay: { scope: 'client', arg: { name: 'MS', unit: 'ms', min: 1, max: 10_000 }, when: 'start' },
  'http-stop': { scope: 'server', when: 'login' },
  'tftp-stop': { scope: 'server', when: 'login' },
  'server-kill': { scope: 'server', when: 'login' },
};

/** The moment the clients power on: a WHEN before any stage. */
export const START = 'start';

export interface FaultSpec {
  kind: FaultKind;
  /** SECONDS (nbd-stop, link-down), PCT (loss) or MS (delay). */
  value?: number;
  /** A stage id, or 'start'. */
  stage: string;
  /** Seconds after the stage. */
  afterS: number;
  /** As the user wrote it, for the timeline. */
  text: string;
}

export function faultScope(kind: FaultKind): FaultScope {
  return KINDS[kind].scope;
}

/** How long the fault holds before it is undone, ms (0: a one-shot, or until the client stops). */
export function faultHoldMs(f: FaultSpec): number {
  return f.kind === 'nbd-stop' || f.kind === 'link-down' ? (f.value ?? 0) * 1000 : 0;
}

/**
 * How much longer than its budget each boot stage (and shell command) of a client may
 * take under these faults: loss and delay are meant to slow the boot, and the timeline
 * shows by how much; a budget sized for a clean link would call that a failure.
 */
export const SLOW_LINK_BUDGET_STRETCH = 4;

export function budgetStretch(faults: readonly FaultSpec[]): number {
  return faults.some((f) => f.kind === 'loss' || f.kind === 'delay') ? SLOW_LINK_BUDGET_STRETCH : 1;
}

/** Whether a fault stays in place until the lab stops (netem, a stopped service, a dead server). */
export function faultLasts(f: FaultSpec): boolean {
  return ['loss', 'delay', 'http-stop', 'tftp-stop', 'server-kill'].includes(f.kind);
}


/** One --fault value: KIND[:ARG][@WHEN]. Every mistake is a UsageError that says what to write. */
export function parseFault(text: string): FaultSpec {
  const hint = `e.g. --fault nbd-restart@login, --fault link-down:10@login+5, --fault loss:5; kinds: ${FAULT_KINDS.join(', ')}`;
  const m = /^([a-z-]+)(?::([^@]*))?(?:@(.*))?$/.exec(text.trim());
  if (!m) throw new UsageError(`--fault '${text}' is not KIND[:ARG][@WHEN]`, { hint });
  const kind = m[1] as FaultKind;
  const def = (KINDS as Record<string, KindDef | undefined>)[kind];
  if (!def) throw new UsageError(`--fault '${text}': unknown fault kind '${m[1]}'`, { hint });
  const spec: FaultSpec = { kind, stage: def.when, afterS: 0, text: text.trim() };
  const raw = m[2];
  if (def.arg) {
    const a = def.arg;
    if (raw === undefined || raw === '') throw new UsageError(`--fault ${kind} needs ${a.name}: ${kind}:${a.name}`, { hint });
    if (!/^-?\d+(\.\d+)?$/.test(raw)) throw new UsageError(`--fault ${kind}:${raw}: ${a.name} is not a number`, { hint });
    const v = Number(raw);
    if (v < 0) throw new UsageError(`--fault ${kind}:${raw}: ${a.name} cannot be negative`);
    if (v < a.min || v > a.max) throw new UsageError(`--fault ${kind}:${raw}: ${a.name} must be ${a.min} to ${a.max}${a.unit}`);
    spec.value = v;
  } else if (raw !== undefined) {
    throw new UsageError(`--fault ${kind} takes no argument (got ':${raw}')`, { hint });
  }
  const when = m[3];
  if (when !== undefined) {
    const w = /^([a-z-]+)(?:([+-])(.*))?$/.exec(when);
    if (!w) throw new UsageError(`--fault '${text}': @${when} is not @STAGE or @STAGE+SECONDS`, { hint });
    const stage = w[1] as string;
    // Every stack's stage ids: a fault at a stage its client's stack lacks is not reached.
    const stages: string[] = [START, ...ALL_STAGE_IDS];
    if (!stages.includes(stage)) throw new UsageError(`--fault '${text}': there is no boot stage '${stage}'`, { hint: `stages: ${stages.join(', ')}` });
    if (w[2] === '-') throw new UsageError(`--fault '${text}': a fault cannot strike before its stage (negative time ${w[2]}${w[3] ?? ''})`, { hint: 'name an earlier stage instead' });
    if (w[2] === '+') {
      if (!/^\d+(\.\d+)?$/.test(w[3] ?? '')) throw new UsageError(`--fault '${text}': '+${w[3] ?? ''}' is not a number of seconds`, { hint });
      spec.afterS = Number(w[3]);
      if (spec.afterS > 3600) throw new UsageError(`--fault '${text}': +${spec.afterS} s is more than an hour after the stage`);
    }
    spec.stage = stage;
  }
  return spec;
}

/** Several --fault values: parsed, and two faults that would fight over one thing refused. */
export function parseFaults(texts: readonly string[]): FaultSpec[] {
  const faults = texts.map(parseFault);
  const netem = faults.filter((f) => f.kind === 'loss' || f.kind === 'delay');
  if (netem.length > 1) throw new UsageError(`--fault ${netem.map((f) => f.text).join(' and ')}: one netem fault (loss or delay) per boot`);
  const kill = faults.find((f) => f.kind === 'server-kill');
  if (kill && faults.length > 1) throw new UsageError(`--fault ${kill.text} ends the server: give it alone`);
  return faults;
}

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import type { StartedLabNetwork } from '../network/lab-network';
import { ClientFaults } from './client-faults';
import { ConsoleWaitError, HarnessError, isKnownError, SutError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { leaseIpOf } from '../boot/stages';
import type { StartedThinClient } from '../boot/thin-client';
import { NBD_PORT } from '../server/boot-files';
import type { StartedLtspServer } from '../server/ltsp-server';
import type { FaultMark } from '../results/types';
import { faultHoldMs, faultLasts, faultScope, START, type FaultKind, type FaultSpec } from './fault-spec';

const debug = log('fault');

/**
 * What became of a client under a fault (FaultMark.outcome):
 * - recovered: it works again after the fault ended (recoveryMs says how soon);
 * - survived: a fault that stays (loss, delay, a stopped service) and the client works under it;
 * - failed: its boot failed, or it no longer reads its root or writes its union;
 * - not-reached: the fault's stage never came (the boot failed before it).
 */
export type FaultOutcome = FaultMark['outcome'];

/** A fault as one client lived it, with the evidence. */
export interface FaultEvent extends FaultMark {
  kind: FaultKind;
  /** The client this event is about. */
  client: string;
  evidence: string[];
  /**
   * nbd-restart: the request of this client that the restart met in flight, held unread by its
   * stopped nbd-server process (see holdRequest); absent when none could be held.
   */
  heldRequest?: HeldRequest;
  /** nbd-restart: nbd-server's main pid before and after the restart (its pid file; undefined when there was none). */
  nbdServerPids?: { before?: number; after?: number };
  /**
   * nbd-restart after login: ms from the restart until the guest reader's last read had
   * come back (the reader's read is held in flight at the restart; it is told to stop once
   * the client is judged, and ends after the read it is in): how long a read the restart
   * met took to come back, which the reconnect alone does not make happen (see
   * vm-images/client/root/src/ltsp-nbd-persist.c).
   */
  readerBackMs?: number;
}

/** A client's requests held in flight at the server: nbd-server's connection processes stopped with requests unread. */
export interface HeldRequest {
  /** The nbd-server processes stopped (every connection's: the server's, not only the client's). */
  stopped: number[];
  /** Bytes unread on each of the client's connections at the restart: 28 per read, 28 + its data per write (doc/proto.md). */
  unread: number[];
  /** How long the hold took to see the requests, ms. */
  waitedMs: number;
}

/** What the report keeps of an event. */
function faultMark(e: FaultEvent): FaultMark {
  return {
    fault: e.fault,
    outcome: e.outcome,
    detail: e.detail,
    ...(e.appliedAt !== undefined ? { appliedAt: e.appliedAt } : {}),
    ...(e.endedAt !== undefined ? { endedAt: e.endedAt } : {}),
    ...(e.recoveryMs !== undefined ? { recoveryMs: e.recoveryMs } : {}),
    ...(e.evidence.length ? { evidence: e.evidence } : {}),
  };
}

/** What a fault run needs of the lab: the server, and each client with its boot. */
export interface FaultTargets {
  server: StartedLtspServer;
  /** The lab bridge the clients are on (the loss fault drops frames there). */
  network: StartedLabNetwork;
  clients: readonly StartedThinClient[];
  /** Each client's waitForBoot(), in the order of `clients`. */
  boots: readonly Promise<unknown>[];
}

/** The kernel's last word on an NBD device whose connection died and was not re-established in time. */
const NBD_GONE = /block nbd\d+: shutting down sockets/;

/** Whether the client's kernel gave its NBD device up since `since` (ms since its QEMU start). */
function nbdGone(c: StartedThinClient, since: number): boolean {
  return c.console.lines().some((l) => l.t >= since && NBD_GONE.test(l.text));
}

/** Kernel lines that tell a client's side of a fault. */
const CLIENT_EVIDENCE = /nbd\d|ltsp-nbd-persist|I\/O error|EXT4-fs (error|warning)|Buffer I\/O|link (is )?(up|down)|Bus error|Input\/output error/i;

/**
 * The probe a client must pass to count as working: with the page cache dropped, read a
 * root file picked at random (so through unionfs-fuse and NBD, not from memory) and
 * write to the union (its tmpfs branch, via the union's lookups in the NBD branch).
 */
export function probeCommand(n: number): string {
  return (
    'sync; echo 3 > /proc/sys/vm/drop_caches; ' +
    'f=$(ls -d /usr/lib/x86_64-linux-gnu/*.so.* | shuf -n 1) && cat "$f" > /dev/null && echo "read $f" && ' +
    `echo ltsp-fault-probe-${n} > /root/ltsp-fault-probe && cat /root/ltsp-fault-probe`
  );
}

/**
 * The root file a passing probe read, found by its own line: the serial console
 * interleaves kernel lines (the NBD link's loss and return) with the probe's output, so
 * no line's place in it says what it is.
 */
export function probeReadFile(output: string): string | undefined {
  return /^read (\/\S+)$/m.exec(output.replace(/\r/g, ''))?.[1];
}

/** ms since a client's QEMU start. */
function clientMs(c: StartedThinClient, at = performance.now()): number {
  return Math.round(at - c.startedAt);
}

function lines(output: string, max = 6): string[] {
  return output.split('\n').map((l) => l.trim()).filter(Boolean).slice(-max);
}

/** The client's console lines since `since` (ms since its QEMU start) that tell of the fault. */
function clientEvidence(c: StartedThinClient, since: number, max = 10): string[] {
  const hits = c.console.lines().filter((l) => l.t >= since && CLIENT_EVIDENCE.test(l.text)).map((l) => `${c.name} [${(l.t / 1000).toFixed(1)}] ${l.text.trim()}`);
  return hits.length > max ? [...hits.slice(0, max / 2), `... ${hits.length - max} more ...`, ...hits.slice(-max / 2)] : hits;
}

/** A command in the server, within its step's deadline; its output, or a SutError on a non-zero exit. */
async function serverSh(server: StartedLtspServer, command: string, deadline: Deadline): Promise<string> {
  return (await server.sh(command, false, deadline)).output;
}

interface Applied {
  /** Undoes the fault (for faults that end); the hold has passed when it is called. */
  undo?: () => Promise<string[]>;
  evidence: string[];
  /** When the fault struck (performance.now()), if later than the start of apply (a restart that waited for a request in flight). */
  struckAt?: number;
  heldRequest?: HeldRequest;
  nbdServerPids?: FaultEvent['nbdServerPids'];
  /** Once every client is judged: what the fault's own helpers saw, and stopping them. */
  settle?: () => Promise<Pick<FaultEvent, 'readerBackMs'> & { evidence: string[] }>;
}

/** An NBD request's header (doc/proto.md in the nbd sources): magic, flags, type, cookie, offset, length. */
const NBD_REQUEST_BYTES = 28;

/**
 * How long a hold keeps nbd-server's connection processes stopped with no request of the
 * client unread before it lets them go on for a moment and stops them again. A process
 * stopped just after it read a request (and before it answered) holds that request where no
 * queue shows it, and the client, waiting for that answer, sends nothing more: without the
 * cycle the hold waited out its whole budget and the restart met no request it could name
 * (CI at 149e157: "none: no request ... in 10000 ms", the kernel's stuck read on the console).
 */
const HOLD_CYCLE_MS = 2000;

/** The client's address, from the DHCP lease its boot reported. */
function clientIp(c: StartedThinClient): string | undefined {
  return leaseIpOf(c.timeline.find((m) => m.stage === 'dhcp')?.line ?? '');
}

/**
 * Holds the client's NBD requests in flight for a server fault: stops (SIGSTOP) nbd-server's
 * connection processes (the children of its main process: `ss -p` cannot name the owner
 * of another user's socket without CAP_SYS_PTRACE, so every connection's, which the
 * restart ends anyway), then waits until one of the client's connections holds an unread
 * request, and up to a second more for each of its others to. The restart that follows
 * meets requests in flight on every run: the case a reconnect alone does not mend (the
 * kernel resends such a request only when its timer fires). Stopped HOLD_CYCLE_MS with
 * nothing unread, the processes go on a moment and stop again. The fault kills the stopped
 * processes after the restart (see apply). The server
 * prints one line: "held MS PID,... BYTES,...", or "none: WHY" (no connection, or no
 * request came; the processes go on again).
 */
export function holdRequestScript(ip: string, waitMs: number, cycleMs: number = HOLD_CYCLE_MS): string {
  const conns = `ss -tnH state established '( sport = :${NBD_PORT} )' dst ${ip}`;
  const now = '$(date +%s%N)';
  return [
    `[ -n "$(${conns})" ] || { echo "none: no NBD connection from ${ip}"; exit 0; }`,
    `t0=${now}`,
    'while :; do',
    '  pids=$(pgrep -P "$(cat /var/run/nbd-server.pid 2>/dev/null)" | sort -n)',
    '  [ -n "$pids" ] || { echo "none: nbd-server has no connection process"; exit 0; }',
    '  kill -STOP $pids 2>/dev/null',
    `  t1=${now}; first=`,
    '  while :; do',
    `    q=$(${conns} | awk '{ print $1 }')`,
    `    full=$(echo "$q" | awk '$1 >= ${NBD_REQUEST_BYTES}' | wc -l); all=$(echo "$q" | wc -l)`,
    `    t=${now}; ms=$(( (t - t0) / 1000000 )); cms=$(( (t - t1) / 1000000 ))`,
    '    if [ "$full" -gt 0 ]; then',
    '      first=${first:-$ms}',
    '      [ "$full" -eq "$all" ] && break 2',
    '      [ $((ms - first)) -ge 1000 ] && break 2',
    `    elif [ "$ms" -ge ${waitMs} ]; then`,
    `      kill -CONT $pids 2>/dev/null; echo "none: no request from ${ip} in ${waitMs} ms"; exit 0`,
    `    elif [ "$cms" -ge ${cycleMs} ]; then`,
    // A request the process had read before it stopped is in no queue: let it be answered, and stop again.
    '      kill -CONT $pids 2>/dev/null; sleep 0.05; continue 2',
    '    fi',
    '    sleep 0.05',
    '  done',
    'done',
    'echo "held $ms $(echo $pids | tr \' \' ,) $(echo $q | tr \' \' ,)"',
  ].join('\n');
}

/**
 * The hold's answer in the server's output, or why there is none: its own line, wherever
 * it stands (a connection process that ended between pgrep and kill, or a tool's warning,
 * may write lines of its own around it).
 */
export function holdAnswer(output: string): HeldRequest | string {
  const all = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return parseHold(all.find((l) => /^(held |none: )/.test(l)) ?? all.at(-1) ?? '');
}

/** The hold's answer, or why there is none. */
export function parseHold(line: string): HeldRequest | string {
  const m = /^held (\d+) ([\d,]+) ([\d,]+)$/.exec(line.trim());
  if (!m) return line.trim() || 'no answer';
  const nums = (list: string): number[] => list.split(',').map(Number);
  return { stopped: nums(m[2] as string), unread: nums(m[3] as string), waitedMs: Number(m[1]) };
}

/** How long a hold waits for a request: a booting client reads at once, a reader within a second. */

/**
 * A reader for a guest that is logged in (an idle system reads nothing by itself): direct
 * reads (iflag=direct: past the page cache, so each goes to the server) of single 4 KiB
 * blocks of the NBD device at random, back to back, so a request comes for the hold to
 * catch and one is in flight while the server is stopped. Once GUEST_STOP exists it ends
 * after the read it is in. Prints its pid.
 */
const GUEST_STOP = '/run/ltsp-fault-reader.stop';
export function guestReaderCommand(dev = 'nbd0'): string {
  const reader = `n=$(( $(blockdev --getsz /dev/${dev}) / 8 )); while [ ! -e ${GUEST_STOP} ]; do dd if=/dev/${dev} of=/dev/null bs=4k count=1 skip=$(( (RANDOM * 32768 + RANDOM) % n )) iflag=direct 2>/dev/null; done`;
  // In a subshell, so the login shell keeps no job to report when it ends.
  return `rm -f ${GUEST_STOP}; ( bash -c '${reader}' </dev/null >/dev/null 2>&1 & echo $! )`;
}

/** Applies one fault; for a client fault, to `client`. */
async function apply(f: FaultSpec, t: FaultTargets, client: StartedThinClient): Promise<Applied> {
  const step = (what: string): Deadline => Deadline.after(budgetMs('faultStep'), `${f.text}: ${what}`);
  const faults = new ClientFaults(client, t.network);
  const nbdPid = async (): Promise<number | undefined> => {
    const out = (await serverSh(t.server, 'cat /var/run/nbd-server.pid 2>/dev/null || true', step('nbd-server pid'))).trim();
    return /^\d+$/.test(out) ? Number(out) : undefined;
  };
  switch (f.kind) {
    case 'nbd-restart': {
      const before = await nbdPid();
      const evidence: string[] = [];
      // After login nothing reads by itself: the guest's reader makes the request to hold.
      const loggedIn = client.timeline.some((m) => m.stage === 'login');
      const reader = loggedIn ? lines(await client.check(guestReaderCommand(), step('start the guest reader')), 1)[0] : undefined;
      if (reader) evidence.push(`${client.name}: direct reads of /dev/nbd0 in a loop (pid ${reader})`);
      const ip = clientIp(client);
      const hold = ip ? holdAnswer(await serverSh(t.server, holdRequestScript(ip, budgetMs('faultHoldWait')), step('hold a request in flight'))) : `none: ${client.name} reported no address`;
      const heldRequest = typeof hold === 'string' ? undefined : hold;
      evidence.push(
        heldRequest
          ? `server: nbd-server's connection processes ${heldRequest.stopped.join(', ')} stopped; ${client.name}'s connections held ${heldRequest.unread.map((b) => `${b} bytes`).join(', ')} unread (after ${heldRequest.waitedMs} ms)`
          : `server: no request held in flight (${hold as string})`,
      );
      const struckAt = performance.now();
      // Through the server's init (the seed's script, systemctl or service): a restart behind systemd's back would orphan the new server.
      const out = (await t.server.service('nbd-server', 'restart', step('nbd-server restart'))).output;
      const after = await nbdPid();
      const nbdServerPids = { ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) };
      evidence.push(...lines(out).map((l) => `server: ${l}`), `server: nbd-server pid ${before ?? 'none'} -> ${after ?? 'none'}`);
      if (heldRequest) {
        // A stopped process outlives the restart (its SIGTERM waits until it runs: nbd-server's
        // connection process handles it), and going on it would answer the held request:
        // killed, its connection ends with the request unanswered, as a running one's would.
        const pids = heldRequest.stopped.join(' ');
        // A zombie (ended, its old parent gone, not yet reaped) counts as ended.
        const left = (await serverSh(t.server, `for p in ${pids}; do s=$(awk '{ print $3 }' /proc/$p/stat 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ] && kill -KILL $p && echo $p; done; true`, step('the held nbd-servers'))).trim();
        if (left) evidence.push(`server: held nbd-server ${left.split('\n').join(', ')} killed after the restart (SIGKILL), its requests unanswered`);
      }
      const settle = reader
        ? async (): Promise<{ readerBackMs?: number; evidence: string[] }> => {
            let out: string;
            try {
              // Its read may be the one the restart met: wait for it to come back (the kernel's own timer is 30 s).
              const stop = `touch ${GUEST_STOP}; for i in $(seq 900); do kill -0 ${reader} 2>/dev/null || { echo back; break; }; sleep 0.1; done; kill ${reader} 2>/dev/null; true`;
              out = (await client.run(stop, Deadline.after(client.budgetMs('faultRecovery'), `${f.text}: the guest reader's last read`))).output;
            } catch (e) {
              if (!isKnownError(e)) throw e;
              return { evidence: [`${client.name}: the guest reader could not be stopped: ${e.message.split('\n')[0] ?? ''}`] };
            }
            const back = /^back$/m.test(out) ? Math.round(performance.now() - struckAt) : undefined;
            return {
              ...(back !== undefined ? { readerBackMs: back } : {}),
              evidence: [`${client.name}: the guest reader's last read ${back !== undefined ? `came back ${(back / 1000).toFixed(1)} s after the restart` : 'did not come back within 90 s'}`],
            };
          }
        : undefined;
      return { evidence, struckAt, nbdServerPids, ...(heldRequest ? { heldRequest } : {}), ...(settle ? { settle } : {}) };
    }
    case 'nbd-stop': {
      const out = (await t.server.service('nbd-server', 'stop', step('nbd-server stop'))).output;
      return {
        evidence: lines(out).map((l) => `server: ${l}`),
        undo: async () => lines((await t.server.service('nbd-server', 'start', step('nbd-server start'))).output).map((l) => `server: ${l}`),
      };
    }
    case 'link-down':
      await faults.setLink(false, step('set_link off'));
      return {
        evidence: [`qmp: set_link ${client.name} off`],
        undo: async () => (await faults.setLink(true, step('set_link on')), [`qmp: set_link ${client.name} on`]),
      };
    case 'loss':
      await faults.addLoss(f.value ?? 0, step('loss rules'));
      return { evidence: [`bridge: ${f.value} % of ${client.name}'s frames dropped, both ways (iptables statistic)`] };
    case 'delay':
      await faults.addDelay(f.value ?? 0, step('filter-buffer'));
      return { evidence: [`qemu: ${client.name}'s frames held up to ${f.value} ms (filter-buffer)`] };
    case 'http-stop':
    case 'tftp-stop': {
      const svc = f.kind === 'http-stop' ? 'http' : 'tftp';
      const out = await serverSh(t.server, `ltsp-server-ctl stop ${svc}`, step(`stop ${svc}`));
      return { evidence: lines(out).map((l) => `server: ${l}`) };
    }
    case 'server-kill': {
      const d = step('docker kill');
      const r = await execCommand('docker', ['kill', t.server.getId()], { deadline: d, allowFailure: true });
      if (r.code !== 0) throw new HarnessError(`docker kill of the server failed: ${r.stderr.trim()}`);
      return { evidence: ['docker: server container killed (SIGKILL)'] };
    }
  }
}

/** One client being judged after one fault. */
interface Judging {
  f: FaultSpec;
  c: StartedThinClient;
  /** The event's fields that do not depend on the verdict. */
  base: Omit<FaultEvent, 'outcome' | 'detail' | 'evidence'>;
  /** When the fault struck, ms since the client's QEMU start. */
  since: number;
  /** When the fault ended, or struck if it stays (performance.now()). */
  ref: number;
  /** A fault that stays (loss, delay, a stopped service): the verdict is "survived", not "recovered". */
  lasting: boolean;
  deadline: Deadline;
  probeNo: () => number;
}

/**
 * A fault that struck a running system: probes, each within one shell command's budget,
 * until one reads the root and writes the union, or the recovery budget is spent. A
 * client whose NBD device the kernel shut down gets no more tries after the first that
 * fails: nothing brings such a device back.
 */
async function probeRecovery(j: Judging): Promise<FaultEvent> {
  const { f, c, base, since } = j;
  const recovery = j.deadline.child(c.budgetMs('faultRecovery'), `${c.name} recovery after ${f.text}`);
  const answers: string[] = [];
  const failed = (why: string): FaultEvent => ({ ...base, outcome: 'failed', detail: `no longer works: ${why}`, evidence: [...answers.slice(-3), ...clientEvidence(c, since), ...c.console.tail(3).map((l) => `${c.name} console: ${l}`)] });
  for (;;) {
    let why: string;
    try {
      const r = await c.run(probeCommand(j.probeNo()), recovery.child(c.budgetMs(nbdGone(c, since) ? 'faultProbeGone' : 'shellCommand'), `${c.name} recovery probe`));
      if (r.code === 0) {
        const recoveryMs = Math.max(0, Math.round(performance.now() - j.ref));
        const file = probeReadFile(r.output) ?? 'a root file';
        const when = `${(recoveryMs / 1000).toFixed(1)} s after the fault ${base.endedAt === undefined ? 'struck' : 'ended'}`;
        return {
          ...base,
          outcome: j.lasting ? 'survived' : 'recovered',
          recoveryMs,
          detail: `${j.lasting ? 'works under the fault' : 'works again'}: ${when} it read ${file} and wrote to the union`,
          evidence: [...answers.slice(-2), ...clientEvidence(c, since)],
        };
      }
      answers.push(...lines(r.output, 3).map((l) => `${c.name} probe: ${l}`));
      why = `the probe exited ${r.code}`;
    } catch (e) {
      if (!isKnownError(e)) throw e;
      // A failure pattern (a panic) or QEMU gone: no retry brings it back.
      if (!(e instanceof ConsoleWaitError && e.reason === 'timeout')) return failed(e.message.split('\n')[0] ?? '');
      why = `its shell gave no prompt and no answer within ${(e.elapsedMs / 1000).toFixed(0)} s`;
    }
    if (nbdGone(c, since)) return failed(`${why}, and its kernel shut the NBD device down ('shutting down sockets'): nothing reconnects it`);
    if (recovery.remaining() < 2000) return failed(`${why}; no probe passed within ${(recovery.totalMs / 1000).toFixed(0)} s`);
    await recovery.sleep(2000);
  }
}

/** The outcome for one client once the fault (if it ends) has ended at `endedAbs`. */
async function judge(f: FaultSpec, c: StartedThinClient, boot: Promise<unknown>, appliedAbs: number, endedAbs: number | undefined, probeNo: () => number): Promise<FaultEvent> {
  const since = clientMs(c, appliedAbs);
  const base: Judging['base'] = {
    fault: f.text,
    kind: f.kind,
    client: c.name,
    appliedAt: since,
    ...(endedAbs !== undefined ? { endedAt: clientMs(c, endedAbs) } : {}),
  };
  const deadline = Deadline.after(c.bootBudgetMs() + c.budgetMs('faultRecovery'), `${c.name} after ${f.text}`);
  const booted = await deadline.race(boot.then(() => undefined, (e: unknown) => e));
  if (booted !== undefined) {
    const e = booted as { stage?: string; message?: string };
    return { ...base, outcome: 'failed', detail: `its boot failed${e.stage ? ` at '${e.stage}'` : ''}: ${String(e.message ?? booted).split('\n')[0]}`, evidence: clientEvidence(c, since) };
  }
  const ref = endedAbs ?? appliedAbs;
  const lasting = endedAbs === undefined && faultLasts(f);
  const login = c.timeline.find((m) => m.stage === 'login');
  if (login && login.t < since) return probeRecovery({ f, c, base, since, ref, lasting, deadline, probeNo });
  // The fault struck during the boot, which still reached login.
  const loginS = ((login?.t ?? 0) / 1000).toFixed(1);
  if (lasting) return { ...base, outcome: 'survived', detail: `booted to login at ${loginS} s under the fault`, evidence: clientEvidence(c, since) };
  // Recovered: the first stage the boot reached once the fault was over.
  const next = c.timeline.find((m) => m.t >= clientMs(c, ref));
  const recoveryMs = next ? Math.max(0, next.t - clientMs(c, ref)) : undefined;
  return {
    ...base,
    outcome: 'recovered',
    ...(recoveryMs !== undefined ? { recoveryMs } : {}),
    detail: `booted to login at ${loginS} s${next ? `; next stage after the fault: '${next.label}', ${((recoveryMs ?? 0) / 1000).toFixed(1)} s later` : ''}`,
    evidence: clientEvidence(c, since),
  };
}

export interface FaultRunOptions {
  onProgress?: (line: string) => void;
}

/**
 * Applies each fault when its stage comes (a client fault on every client at its own
 * stage; a server fault once, at the first client's), holds it, undoes it, and judges
 * every client it touched. Resolves once every client is judged; a fault step the lab
 * could not carry out rejects (HarnessError).
 */
export async function runFaults(faults: readonly FaultSpec[], t: FaultTargets, opts: FaultRunOptions = {}): Promise<FaultEvent[]> {
  let probes = 0;
  const probeNo = (): number => ++probes;
  const say = (l: string): void => opts.onProgress?.(`lab: fault ${l}`);
  const runOne = async (f: FaultSpec, trigger: StartedThinClient, judged: StartedThinClient[]): Promise<FaultEvent[]> => {
    if (f.stage !== START) {
      const i = t.clients.indexOf(trigger);
      try {
        await trigger.reached(f.stage, Deadline.after(trigger.bootBudgetMs() + budgetMs('faultStep'), `${trigger.name} reaching '${f.stage}' for ${f.text}`));
      } catch (e) {
        if (!(e instanceof SutError)) throw e;
        await t.boots[i]?.catch(() => undefined);
        return judged.map((c) => {
          const ev: FaultEvent = { fault: f.text, kind: f.kind, client: c.name, outcome: 'not-reached', detail: e.message, evidence: [] };
          c.noteFault(faultMark(ev));
          return ev;
        });
      }
      if (f.afterS > 0) await sleep(f.afterS * 1000);
    }
    const startAbs = performance.now();
    const applied = await apply(f, t, trigger);
    const appliedAbs = applied.struckAt ?? startAbs;
    say(`${f.text}: applied (${trigger.name} at ${(clientMs(trigger, appliedAbs) / 1000).toFixed(1)} s)`);
    debug('%s applied: %o', f.text, applied.evidence);
    let endedAbs: number | undefined;
    const evidence = [...applied.evidence];
    if (applied.undo) {
      await sleep(faultHoldMs(f));
      evidence.push(...(await applied.undo()));
      endedAbs = performance.now();
      say(`${f.text}: ended (${trigger.name} at ${(clientMs(trigger, endedAbs) / 1000).toFixed(1)} s)`);
    }
    const events = await Promise.all(judged.map((c) => judge(f, c, t.boots[t.clients.indexOf(c)] as Promise<unknown>, appliedAbs, endedAbs, probeNo)));
    const settled = await applied.settle?.();
    for (const [k, e] of events.entries()) {
      if (judged[k] === trigger) {
        if (applied.heldRequest) e.heldRequest = applied.heldRequest;
        if (applied.nbdServerPids) e.nbdServerPids = applied.nbdServerPids;
        if (settled?.readerBackMs !== undefined) e.readerBackMs = settled.readerBackMs;
        e.evidence.push(...(settled?.evidence ?? []));
      }
      e.evidence = [...evidence, ...e.evidence];
      judged[k]?.noteFault(faultMark(e));
      say(`${f.text}: ${e.client} ${e.outcome}: ${e.detail}`);
    }
    return events;
  };
  const runs: Promise<FaultEvent[]>[] = [];
  for (const f of faults) {
    if (faultScope(f.kind) === 'client') for (const c of t.clients) runs.push(runOne(f, c, [c]));
    else if (t.clients[0]) runs.push(runOne(f, t.clients[0], [...t.clients]));
  }
  return (await Promise.all(runs)).flat();
}

/** The faults, as the lines printed under the boot timeline. */
export function formatFaultEvents(events: readonly FaultEvent[]): string {
  if (events.length === 0) return '';
  const s = (ms?: number): string => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const rows = events.map((e) => [e.fault, e.client, s(e.appliedAt), s(e.endedAt), e.outcome, e.recoveryMs === undefined ? '-' : `${s(e.recoveryMs)} s`]);
  const head = ['fault', 'client', 'applied', 'ended', 'outcome', 'recovery'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i >= 2 && i !== 4 ? c.padStart(w[i] as number) : c.padEnd(w[i] as number))).join('  ').trimEnd();
  const out = ['faults (seconds since the client\'s QEMU start)', fmt(head), fmt(w.map((n) => '-'.repeat(n)))];
  for (const [i, e] of events.entries()) {
    out.push(fmt(rows[i] as string[]));
    out.push(`    ${e.detail}`);
    for (const l of e.evidence) out.push(`      ${l}`);
  }
  return out.join('\n');
}


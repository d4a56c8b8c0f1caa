import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { budgetMs } from '../common/budgets';
import { HarnessError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { NBD_DEFAULT_PORT } from '../nbd/nbd-protocol';
import { ProcessGroup } from '../qemu-ts-wrapper';
import type { TraceRow } from './trace';

const debug = log('lab:storm');

/** Where the relay listens inside the server's network namespace; the REDIRECT sends 10809 there. */
export const RELAY_PORT = 10819;

/** One NBD connection as the relay saw it (record-proxy-main.ts's line). */
export interface RecordedConnection {
  id: number;
  acceptedAt: number;
  from: string;
  end: string;
  lost?: string;
  options: string[];
  exportName?: string;
  transmissionT?: number;
  maxInFlight: number;
  requests: [number, number, number, number, number | null, number][];
}

/**
 * A recording relay in front of the lab's nbd-server. It runs in the server container's
 * network namespace, so a client boots unchanged (root=nbd:SERVER:root, port 10809): an
 * iptables REDIRECT in that namespace hands its connections to the relay, which passes
 * each byte on to nbd-server and frames what it passes (NbdWireTap). Times are taken
 * where the server takes them, in the server's namespace, at the moment bytes arrive.
 *
 * nbd-server's own `transactionlog` is not used: it has no timestamps, no handshake, is
 * one file that every client's thread opens at offset 0 without O_APPEND (nbd-server.c
 * setup_transactionlog), and its writes sit in the request loop under a semaphore.
 */
export class RecordProxy {
  private constructor(
    private readonly pid: number,
    private readonly relay: ProcessGroup,
    private readonly lines: string[],
  ) {}

  static async start(containerId: string, serverIp: string, deadline: Deadline): Promise<RecordProxy> {
    const inspect = await execCommand('docker', ['inspect', '-f', '{{.State.Pid}}', containerId], { deadline });
    const pid = Number(inspect.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new HarnessError(`the server container ${containerId.slice(0, 12)} has no process to record beside`);
    const ts = __filename.endsWith('.ts');
    const relay = await ProcessGroup.spawn({
      command: 'nsenter',
      args: ['-t', String(pid), '-n', '--', process.execPath, ...(ts ? ['-r', 'ts-node/register/transpile-only'] : []), join(__dirname, `record-proxy-main${ts ? '.ts' : '.js'}`), String(RELAY_PORT), serverIp, String(NBD_DEFAULT_PORT)],
      name: 'nbd-record-relay',
    });
    const lines: string[] = [];
    let partial = '';
    let onLine: (() => void) | undefined;
    relay.stdout.on('data', (b: Buffer) => {
      const parts = (partial + b.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      onLine?.();
    });
    const proxy = new RecordProxy(pid, relay, lines);
    try {
      const listening = new Promise<void>((resolve, reject) => {
        onLine = () => lines.some((l) => l.startsWith('{"listening"')) && resolve();
        void relay.exited.then((s) => reject(new HarnessError(`the recording relay exited (${s.code ?? s.signal}) before it listened:\n${relay.stderrTail(20).join('\n')}`)));
      });
      await deadline.race(listening);
      await proxy.redirect('-A', deadline);
      debug('recording relay %d listening on %d in the netns of %d', relay.pid, RELAY_PORT, pid);
      return proxy;
    } catch (e) {
      await proxy.stop(Deadline.after(budgetMs('teardown'), 'stop the recording relay')).catch(() => undefined);
      throw e;
    }
  }

  private redirect(op: '-A' | '-D', deadline: Deadline, allowFailure = false): Promise<unknown> {
    return execCommand('nsenter', ['-t', String(this.pid), '-n', '--', 'iptables', '-t', 'nat', op, 'PREROUTING', '-p', 'tcp', '--dport', String(NBD_DEFAULT_PORT), '-j', 'REDIRECT', '--to-ports', String(RELAY_PORT)], { deadline, allowFailure });
  }

  /** Takes the redirect out, stops the relay (which closes what it still relays) and returns every connection it saw. */
  async stop(deadline: Deadline): Promise<RecordedConnection[]> {
    await this.redirect('-D', deadline, true);
    await this.relay.terminate();
    return this.lines.filter((l) => l.startsWith('{"id"')).map((l) => JSON.parse(l) as RecordedConnection);
  }
}

/** The recorded connection that carried the boot: the one with the most requests. */
export function bootConnection(conns: RecordedConnection[]): RecordedConnection | undefined {
  return [...conns].sort((a, b) => b.requests.length - a.requests.length)[0];
}

export function traceRows(c: RecordedConnection): TraceRow[] {
  return c.requests.map(([t, type, offset, length, replyT]) => [t, type, offset, length, replyT]);
}

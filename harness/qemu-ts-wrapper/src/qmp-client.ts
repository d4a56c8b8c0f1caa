import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { Deadline } from './deadline';
import { DeadlineError, QmpError } from './errors';
import { log } from './log';

/** An asynchronous QMP event (qemu docs/interop/qmp-spec.rst, "Asynchronous events"). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpConnectOptions {
  /** Bounds connecting (including retries while QEMU creates the socket) and the handshake. */
  deadline: Deadline;
  /** Every line in both directions is appended here, timestamped. */
  logFile?: string;
  /** Reply timeout for `execute` calls made without a deadline. */
  commandTimeoutMs?: number;
}

export interface QmpStatus {
  running: boolean;
  status: string;
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface EventWaiter {
  name: string;
  from: number;
  resolve: (ev: QmpEvent) => void;
  reject: (err: Error) => void;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;
const CONNECT_RETRY_MS = 50;
// QEMU emits few events; the cap only matters for a guest that floods e.g. RTC_CHANGE.
const MAX_EVENTS = 10_000;
const debug = log('qmp');

/**
 * QEMU Machine Protocol client over a unix socket: greeting, capabilities negotiation,
 * id-correlated commands, recorded events. Emits 'event' (QmpEvent) and 'close'.
 */
export class QmpClient extends EventEmitter implements Disposable {
  /** The greeting message as received: `{ QMP: { version, capabilities } }`. */
  readonly greeting: unknown;

  private readonly socket: Socket;
  private readonly logFd: number | null;
  private logFailed = false;
  private readonly commandTimeoutMs: number;
  private readonly pending = new Map<string, Pending>();
  private readonly waiters = new Set<EventWaiter>();
  private recorded: QmpEvent[] = [];
  /** Index of recorded[0]; events keep their index when old ones are dropped. */
  private firstEvent = 0;
  private nextId = 1;
  private buffer = '';
  private closed = false;
  private onGreeting?: (msg: Record<string, unknown>) => void;

  private constructor(socket: Socket, opts: QmpConnectOptions, logFd: number | null) {
    super();
    this.socket = socket;
    this.logFd = logFd;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.trace('!!', `socket error: ${err.message}`));
    socket.on('close', () => this.onClose());
  }

  /**
   * Connects, retrying while the socket is missing or refusing (QEMU creates it a moment
   * after spawn), then reads the greeting and negotiates capabilities.
   */
  static async connect(socketPath: string, opts: QmpConnectOptions): Promise<QmpClient> {
    const { deadline } = opts;
    const socket = await connectWithRetry(socketPath, deadline);
    let logFd: number | null = null;
    try {
      if (opts.logFile) logFd = openSync(opts.logFile, 'a');
    } catch (err) {
      socket.destroy();
      throw new QmpError(`cannot open QMP log ${opts.logFile}`, { cause: err });
    }
    const client = new QmpClient(socket, opts, logFd);
    client.trace('--', `connected to ${socketPath}`);
    try {
      const greeting = await deadline.race(
        new Promise<Record<string, unknown>>((resolve, reject) => {
          client.onGreeting = resolve;
          client.once('close', () => reject(new QmpError(`QMP socket ${socketPath} closed before the greeting`)));
        }),
        () => new QmpError(`no QMP greeting on ${socketPath} within ${Math.round(deadline.totalMs)} ms (${deadline.what})`),
      );
      (client as { greeting: unknown }).greeting = greeting;
      await client.execute('qmp_capabilities', undefined, deadline);
      return client;
    } catch (err) {
      client.close();
      throw err;
    }
  }

  /**
   * Runs a command and resolves with its "return" value. Rejects with QmpError on an
   * "error" reply, when the socket closes first, or when `deadline` (default: the
   * client's command timeout) passes.
   */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, deadline?: Deadline): Promise<T> {
    if (this.closed) return Promise.reject(new QmpError(`QMP ${command}: connection is closed`, { command }));
    const id = `qmp-${this.nextId++}`;
    const d = deadline ?? Deadline.after(this.commandTimeoutMs, `QMP ${command}`);
    const reply = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
    });
    this.send({ execute: command, ...(args ? { arguments: args } : {}), id });
    return d.race(reply, () => {
      this.pending.delete(id);
      return new QmpError(`QMP ${command}: no reply within ${Math.round(d.totalMs)} ms (${d.what})`, { command });
    }) as Promise<T>;
  }

  /**
   * Resolves with the first event called `name` whose index is >= `from` (default 0:
   * events already recorded count). Take `eventCursor()` before the action whose event
   * you wait for. Rejects with DeadlineError on timeout, QmpError if the socket closes.
   */
  waitForEvent(name: string, deadline: Deadline, from = 0): Promise<QmpEvent> {
    const start = Math.max(from, this.firstEvent);
    for (let i = start - this.firstEvent; i < this.recorded.length; i++) {
      if (this.recorded[i].event === name) return Promise.resolve(this.recorded[i]);
    }
    if (this.closed) return Promise.reject(new QmpError(`QMP connection closed while waiting for event ${name}`));
    let waiter!: EventWaiter;
    const p = new Promise<QmpEvent>((resolve, reject) => {
      waiter = { name, from: start, resolve, reject };
      this.waiters.add(waiter);
    });
    return deadline.race(p, () => {
      this.waiters.delete(waiter);
      return new DeadlineError(`QMP event ${name} (${deadline.what})`, deadline.totalMs, deadline.elapsed());
    });
  }

  /** Index the next event will get. */
  eventCursor(): number {
    return this.firstEvent + this.recorded.length;
  }

  /** The recorded events, oldest first (at most the last 10000). */
  events(): QmpEvent[] {
    return [...this.recorded];
  }

  async systemReset(deadline?: Deadline): Promise<void> {
    await this.execute('system_reset', undefined, deadline);
  }

  async setLink(name: string, up: boolean, deadline?: Deadline): Promise<void> {
    await this.execute('set_link', { name, up }, deadline);
  }

  /** object-add: a QOM object such as a netdev filter. */
  async addObject(qomType: string, id: string, props: Record<string, unknown>, deadline?: Deadline): Promise<void> {
    await this.execute('object-add', { 'qom-type': qomType, id, ...props }, deadline);
  }

  async deleteObject(id: string, deadline?: Deadline): Promise<void> {
    await this.execute('object-del', { id }, deadline);
  }

  async queryStatus(deadline?: Deadline): Promise<QmpStatus> {
    const r = await this.execute<{ running: boolean; status: string }>('query-status', undefined, deadline);
    return { running: r.running, status: r.status };
  }

  /**
   * Asks QEMU to exit. Resolves on the reply or on the socket closing, since QEMU may
   * close the monitor before its reply is flushed.
   */
  async quit(deadline?: Deadline): Promise<void> {
    if (this.closed) return;
    try {
      await this.execute('quit', undefined, deadline);
    } catch (err) {
      if (!this.closed) throw err;
    }
  }

  /** Closes the connection; pending commands and event waits reject. Idempotent. */
  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private send(msg: Record<string, unknown>): void {
    const line = JSON.stringify(msg);
    this.trace('>>', line);
    this.socket.write(`${line}\n`);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    this.trace('<<', line);
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.trace('!!', 'unparseable line ignored');
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
    const m = msg as Record<string, unknown>;
    if ('QMP' in m) {
      this.onGreeting?.(m);
      this.onGreeting = undefined;
    } else if (typeof m.event === 'string') {
      this.onEvent(m as unknown as QmpEvent);
    } else if ('return' in m || 'error' in m) {
      this.onReply(m);
    }
  }

  private onReply(m: Record<string, unknown>): void {
    const id = typeof m.id === 'string' ? m.id : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || pending === undefined) {
      // QEMU answers unparseable input with an id-less error; late replies land here too.
      this.trace('!!', `reply for unknown id ${JSON.stringify(m.id)}`);
      return;
    }
    this.pending.delete(id);
    if ('error' in m) {
      const e = (m.error ?? {}) as { class?: unknown; desc?: unknown };
      const errorClass = String(e.class ?? 'unknown');
      const desc = String(e.desc ?? '');
      pending.reject(new QmpError(`QMP ${pending.command} failed: ${errorClass}: ${desc}`, {
        command: pending.command,
        errorClass,
        desc,
      }));
    } else {
      pending.resolve(m.return);
    }
  }

  private onEvent(ev: QmpEvent): void {
    const index = this.eventCursor();
    this.recorded.push(ev);
    if (this.recorded.length > MAX_EVENTS) {
      const drop = this.recorded.length - MAX_EVENTS;
      this.recorded = this.recorded.slice(drop);
      this.firstEvent += drop;
    }
    for (const w of this.waiters) {
      if (w.name === ev.event && index >= w.from) {
        this.waiters.delete(w);
        w.resolve(ev);
      }
    }
    this.emit('event', ev);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.trace('--', 'closed');
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new QmpError(`QMP ${p.command}: connection closed before the reply`, { command: p.command }));
    }
    for (const w of this.waiters) {
      this.waiters.delete(w);
      w.reject(new QmpError(`QMP connection closed while waiting for event ${w.name}`));
    }
    if (this.logFd !== null) closeSync(this.logFd);
    this.emit('close');
  }

  private trace(dir: string, text: string): void {
    debug('%s %s', dir, text);
    if (this.logFd === null || this.logFailed || (this.closed && dir !== '--')) return;
    // Synchronous on purpose: QMP traffic is small, and the log must survive a crash.
    try {
      writeSync(this.logFd, `${new Date().toISOString()} ${dir} ${text}\n`);
    } catch (err) {
      // A full report disk: the console log's failure names it; QMP carries on unlogged.
      if (!this.logFailed) debug('QMP log write failed, logging stops: %s', (err as Error).message);
      this.logFailed = true;
    }
  }
}

async function connectWithRetry(socketPath: string, deadline: Deadline): Promise<Socket> {
  let lastError: NodeJS.ErrnoException | undefined;
  while (true) {
    const socket = createConnection(socketPath);
    try {
      await deadline.race(
        new Promise<void>((resolve, reject) => {
          socket.once('connect', () => {
            socket.off('error', reject);
            resolve();
          });
          socket.once('error', reject);
        }),
      );
      return socket;
    } catch (err) {
      socket.destroy();
      const e = err as NodeJS.ErrnoException;
      if (err instanceof DeadlineError) {
        throw new QmpError(`cannot connect to QMP socket ${socketPath}: no connection within ${Math.round(deadline.totalMs)} ms (${deadline.what})`, { cause: err });
      }
      if (e.code !== 'ENOENT' && e.code !== 'ECONNREFUSED') {
        throw new QmpError(`cannot connect to QMP socket ${socketPath}: ${e.message}`, { cause: err });
      }
      lastError = e;
    }
    if (deadline.expired()) {
      throw new QmpError(
        `QMP socket ${socketPath} not accepting connections within ${Math.round(deadline.totalMs)} ms ` +
          `(${deadline.what}; last error: ${lastError.code})`,
        { cause: lastError },
      );
    }
    await deadline.sleep(CONNECT_RETRY_MS);
  }
}

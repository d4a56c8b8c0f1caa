import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { Readable } from 'node:stream';

/** Where typed bytes go: a Writable, or a ProcessGroup's stdin. */
export interface ConsoleInput {
  write(data: Buffer): unknown;
}

/**
 * What a new connection is shown first: the end of what the console printed before it
 * came, from its last line start, as a terminal that had been there would show it (the
 * prompt one is sitting at, dracut's message above its shell).
 */
export const SCROLLBACK_BYTES = 16 * 1024;

/**
 * Lets people reach a running machine's serial console: a unix socket whose connections, any number at once, see what the console
 * prints (first its scrollback) and type into it.
 */
export class ConsoleRelay {
  private readonly sockets = new Set<Socket>();
  private scrollback: Buffer[] = [];
  private scrollbackBytes = 0;
  private closing?: Promise<void>;

  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static listen(path: string, output: Readable, input: ConsoleInput): Promise<ConsoleRelay> {
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      const server = createServer();
      const relay = new ConsoleRelay(path, server);
      const onData = (chunk: Buffer): void => {
        relay.remember(chunk);
        for (const s of relay.sockets) s.write(chunk);
      };
      output.on('data', onData);
      server.on('connection', (s) => {
        relay.sockets.add(s);
        const back = relay.replay();
        if (back.length > 0) s.write(back);
        s.on('data', (d) => input.write(d));
        s.on('close', () => relay.sockets.delete(s));
        s.on('error', () => relay.sockets.delete(s));
      });
      server.once('error', (e) => {
        output.off('data', onData);
        reject(e);
      });
      server.listen(path, () => resolve(relay));
      server.once('close', () => output.off('data', onData));
    });
  }

  /** Connections now. */
  get connections(): number {
    return this.sockets.size;
  }

  private remember(chunk: Buffer): void {
    this.scrollback.push(chunk);
    this.scrollbackBytes += chunk.length;
    while (this.scrollbackBytes - (this.scrollback[0]?.length ?? 0) >= SCROLLBACK_BYTES) {
      this.scrollbackBytes -= (this.scrollback.shift() as Buffer).length;
    }
  }

  /** The scrollback from its first whole line (a cut escape sequence or line would garble the screen). */
  private replay(): Buffer {
    const all = Buffer.concat(this.scrollback);
    const tail = all.length > SCROLLBACK_BYTES ? all.subarray(all.length - SCROLLBACK_BYTES) : all;
    if (all.length <= SCROLLBACK_BYTES) return tail;
    const nl = tail.indexOf(0x0a);
    return nl < 0 ? Buffer.alloc(0) : tail.subarray(nl + 1);
  }

  /** Disconnects everyone, stops reading the console and removes the socket file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      for (const s of this.sockets) s.destroy();
      this.server.close(() => {
        rmSync(this.path, { force: true });
        resolve();
      });
    });
    return this.closing;
  }
}

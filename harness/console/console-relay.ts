import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * Lets a person reach a running client's serial console (`./lab boot --keep`): a unix
 * socket whose clients see what the console prints and type into it.
 *   socat -,raw,echo=0 UNIX-CONNECT:PATH
 */
export class ConsoleRelay {
  private readonly sockets = new Set<Socket>();
  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static listen(path: string, output: Readable, input: Writable): Promise<ConsoleRelay> {
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      const server = createServer();
      const relay = new ConsoleRelay(path, server);
      const onData = (chunk: Buffer): void => {
        for (const s of relay.sockets) s.write(chunk);
      };
      output.on('data', onData);
      server.on('connection', (s) => {
        relay.sockets.add(s);
        s.on('data', (d) => input.write(d));
        s.on('close', () => relay.sockets.delete(s));
        s.on('error', () => relay.sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(path, () => resolve(relay));
      server.once('close', () => output.off('data', onData));
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) =>
      this.server.close(() => {
        rmSync(this.path, { force: true });
        resolve();
      }),
    );
  }
}

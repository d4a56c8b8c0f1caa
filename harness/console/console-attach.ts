import { createConnection, type Socket } from 'node:net';
import type { Deadline } from '../common/deadline';
import { HarnessError } from '../common/errors';
import { DETACH_HINT, DetachKey } from './detach-key';
import { QUIET_MS, SizeSync } from './size-sync';

export interface AttachOptions {
  /** The console socket a kept client serves (ConsoleRelay). */
  socket: string;
  /** For the connect only: an attach lasts as long as the person wants. */
  deadline: Deadline;
  /** The person's terminal: keys in, console out. Raw mode while attached when it is a TTY. */
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
  /** Says things to the person (attached, detached, the console closed). */
  notice: (line: string) => void;
}

/** How an attach ended: the person detached, or the console went away (its lab stopped). */
export type AttachEnd = 'detached' | 'closed';

/**
 * Attaches a terminal to a console socket until the person detaches (DetachKey) or the
 * console closes. The terminal goes raw, so every key reaches the guest (Ctrl-C
 * included), and the guest's tty learns the terminal's size, now and on each resize
 * (SizeSync). The terminal is given back as it was however the attach ends.
 */
export async function attachConsole(opts: AttachOptions): Promise<AttachEnd> {
  const sock = await connect(opts.socket, opts.deadline);
  const { input, output } = opts;
  const tty = input.isTTY === true;
  const keys = new DetachKey();
  const size = new SizeSync();
  const send = (text: string | undefined): void => {
    if (text !== undefined) sock.write(text);
  };
  return new Promise<AttachEnd>((resolve) => {
    let ended = false;
    let quiet: NodeJS.Timeout | undefined;
    const end = (how: AttachEnd): void => {
      if (ended) return;
      ended = true;
      clearTimeout(quiet);
      input.off('data', onKeys);
      output.off('resize', onResize);
      if (tty) input.setRawMode(false);
      input.pause();
      sock.off('close', onClose);
      sock.destroy();
      resolve(how);
    };
    const onKeys = (chunk: Buffer): void => {
      const r = keys.feed(chunk);
      if (r.forward.length > 0) {
        size.typed(r.forward);
        sock.write(r.forward);
      }
      if (r.help) opts.notice(DETACH_HINT);
      if (r.detach) {
        opts.notice('detached; the lab runs on');
        end('detached');
      }
    };
    const onResize = (): void => {
      if (output.columns && output.rows) send(size.resized({ rows: output.rows, cols: output.columns }));
    };
    const onClose = (): void => {
      opts.notice('the console closed: its lab stopped');
      end('closed');
    };
    sock.on('data', (chunk: Buffer) => {
      output.write(chunk);
      size.output(chunk.toString('latin1'));
      clearTimeout(quiet);
      quiet = setTimeout(() => ended || send(size.settled()), QUIET_MS);
    });
    sock.on('close', onClose);
    sock.on('error', () => undefined);
    if (tty) input.setRawMode(true);
    input.on('data', onKeys);
    input.resume();
    output.on('resize', onResize);
    opts.notice(DETACH_HINT);
    // The size the terminal has now goes in at the first idle prompt (the scrollback may end with one).
    onResize();
  });
}

function connect(path: string, deadline: Deadline): Promise<Socket> {
  return deadline.race(
    new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) => reject(new HarnessError(`cannot connect to the console socket ${path}: ${e.code ?? e.message}`, { cause: e })));
    }),
  );
}

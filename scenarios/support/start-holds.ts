import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deadline, execCommand, hostBudgetMs } from '../../harness/index';
import { until } from './outcome';

/*
 * Holds that stop `./lab boot` inside one step of its start-up, so a signal sent then
 * provably lands there (not a sleep that hopes to): a Docker API request held on its way
 * to the daemon, a QEMU held before it runs, a syscall on the state root delayed.
 * Each says when it holds, and lets go when released (what was held then goes through).
 */

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.[01]\r?$/m;

/**
 * A Docker socket in front of the daemon's (DOCKER_HOST=unix://...: the docker CLI, the
 * build script and testcontainers all go through it). The first request whose request
 * line ("POST /v1.43/networks/create") matches `pattern` is held, with whatever follows
 * on its connection, until release(); everything else passes.
 */
export class DockerHold {
  private readonly dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-hold-'));
  readonly socket = join(this.dir, 'docker.sock');
  private server?: Server;
  private readonly conns = new Set<Socket>();
  private releaseHeld?: () => void;
  private released = false;
  /** The request line held, once one is. */
  readonly held: Promise<string>;
  private onHeld!: (line: string) => void;

  constructor(
    private readonly pattern: RegExp,
    private readonly daemon = '/var/run/docker.sock',
  ) {
    this.held = new Promise((resolve) => (this.onHeld = resolve));
  }

  get env(): NodeJS.ProcessEnv {
    return { DOCKER_HOST: `unix://${this.socket}` };
  }

  async start(): Promise<this> {
    let holding = false;
    this.server = createServer((client) => {
      const up = connect(this.daemon);
      this.conns.add(client).add(up);
      const gone = (): void => {
        client.destroy();
        up.destroy();
        this.conns.delete(client);
        this.conns.delete(up);
      };
      client.on('error', gone).on('close', gone);
      up.on('error', gone).on('close', gone);
      up.pipe(client);
      let queue: Buffer[] | undefined;
      client.on('data', (chunk: Buffer) => {
        if (queue) {
          queue.push(chunk);
          return;
        }
        const line = REQUEST_LINE.exec(chunk.toString('latin1'));
        if (!holding && !this.released && line && this.pattern.test(line[0])) {
          holding = true;
          queue = [chunk];
          this.releaseHeld = () => {
            for (const c of queue ?? []) up.write(c);
            queue = undefined;
          };
          this.onHeld(line[0].trim());
          return;
        }
        up.write(chunk);
      });
    });
    try {
      await new Promise<void>((resolve, reject) => this.server!.once('error', reject).listen(this.socket, resolve));
    } catch (e) {
      rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
    return this;
  }

  /** Lets the held request (and anything after it) through; later matches pass. */
  release(): void {
    this.released = true;
    this.releaseHeld?.();
  }

  /**
   * Releases the hold, lets each connection end by itself (a docker call whose caller is
   * gone still gets its answer, and what it made is made), then closes.
   */
  async close(deadline: Deadline = Deadline.after(hostBudgetMs('hostCommand'), 'the Docker hold to drain')): Promise<void> {
    this.release();
    await until(deadline, () => (this.conns.size === 0 ? true : undefined)).catch(() => undefined);
    for (const c of this.conns) c.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A folder to put first on PATH: its qemu-system-x86_64 holds a QEMU whose arguments
 * match `pattern` (a bash regex) until release(), then runs the real one.
 */
export class QemuHold {
  readonly dir = mkdtempSync(join(tmpdir(), 'ltsp-lab-qhold-'));
  private readonly heldFile = join(this.dir, 'held');
  private readonly releaseFile = join(this.dir, 'release');

  private constructor() {}

  static async create(pattern: string): Promise<QemuHold> {
    const h = new QemuHold();
    try {
      const real = (await execCommand('bash', ['-c', 'command -v qemu-system-x86_64'], { deadline: Deadline.after(hostBudgetMs('hostCommand'), 'find QEMU') })).stdout.trim();
      const shim = join(h.dir, 'qemu-system-x86_64');
      writeFileSync(
        shim,
        [
          '#!/bin/bash',
          `pattern='${pattern}'`,
          'if [[ "$*" =~ $pattern ]]; then',
          `  echo "$$ $*" > ${h.heldFile}`,
          `  while [ ! -e ${h.releaseFile} ]; do sleep 0.05; done`,
          'fi',
          `exec ${real} "$@"`,
          '',
        ].join('\n'),
      );
      chmodSync(shim, 0o755);
      return h;
    } catch (e) {
      h.remove();
      throw e;
    }
  }

  env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { PATH: `${this.dir}:${base.PATH ?? ''}` };
  }

  /** The held QEMU's command line, once one is held. */
  held(deadline: Deadline): Promise<string> {
    return until(deadline, () => (existsSync(this.heldFile) ? readFileSync(this.heldFile, 'utf8').trim() : undefined));
  }

  release(): void {
    writeFileSync(this.releaseFile, '');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** strace's argv that runs a command with every mkdir of `path` held `seconds` once made (strace writes its line then), its trace in `traceFile`. */
export function straceHold(path: string, seconds: number, traceFile: string): string[] {
  return ['strace', '-f', '--seccomp-bpf', '-qq', '-o', traceFile, '-P', path, '-e', 'trace=mkdir,mkdirat', '-e', `inject=mkdir,mkdirat:delay_exit=${seconds}s`];
}

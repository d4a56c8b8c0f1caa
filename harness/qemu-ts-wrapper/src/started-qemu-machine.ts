import type { ConsoleLog } from './console-log';
import { ConsoleRelay } from './console-relay';
import { Deadline } from './deadline';
import { QemuWrapperError } from './errors';
import { log } from './log';
import type { ExitStatus, ProcessGroup } from './process-group';
import type { QmpClient } from './qmp-client';

const debug = log('qemu');

export type StopStep = 'quit' | 'exited' | 'sigterm' | 'sigkill';

export interface StopOptions {
  /** How long QMP quit may take before SIGTERM. Default 5000 ms. */
  quitMs?: number;
  /** How long SIGTERM may take before SIGKILL. Default 3000 ms. */
  termGraceMs?: number;
}

const DEFAULT_QUIT_MS = 5000;
const DEFAULT_TERM_GRACE_MS = 3000;

/**
 * A running QEMU: its process group, serial console and QMP. stop() is the shutdown
 * ladder.
 */
export class StartedQemuMachine implements AsyncDisposable {
  private stopping?: Promise<StopStep>;
  private readonly relays: ConsoleRelay[] = [];

  constructor(
    readonly name: string,
    private readonly proc: ProcessGroup,
    readonly console: ConsoleLog,
    readonly qmp: QmpClient,
    /** performance.now() at spawn: console times count from here. */
    readonly startedAt: number,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** How QEMU ended: its exit code, or the signal that ended it. */
  get exited(): Promise<ExitStatus> {
    return this.proc.exited;
  }

  isRunning(): boolean {
    return this.proc.isRunning();
  }

  /** Sends `sig` to QEMU's process group (a test's "killed from outside"); stop() is the orderly way. */
  kill(sig: NodeJS.Signals): void {
    this.proc.signal(sig);
  }

  /**
   * Serves the serial console on a unix socket at `path` (see ConsoleRelay), for as long
   * as the machine runs: stop() closes it.
   */
  async serveConsole(path: string): Promise<string> {
    if (this.stopping) throw new QemuWrapperError(`${this.name} is stopping: its console is not served any more`);
    const relay = await ConsoleRelay.listen(path, this.proc.stdout, this.proc);
    this.relays.push(relay);
    return relay.path;
  }

  /** How many connections the console sockets have now. */
  get consoleAttaches(): number {
    return this.relays.reduce((n, r) => n + r.connections, 0);
  }

  /** Types at the serial console. */
  type(text: string): void {
    this.proc.write(text);
  }

  /**
   * The shutdown ladder: QMP quit, wait; then SIGTERM, then SIGKILL of the process
   * group. Returns the step that ended it (sigterm or sigkill: a fallback was needed,
   * which the caller should say) and logs it. Idempotent, and safe when QEMU already died;
   * the options of the first call hold.
   */
  stop(opts: StopOptions = {}): Promise<StopStep> {
    this.stopping ??= (async (): Promise<StopStep> => {
      let step: StopStep;
      // Attached people see the console close first, not QEMU's last words cut off.
      await Promise.allSettled(this.relays.map((r) => r.close()));
      if (!this.proc.isRunning()) {
        step = 'exited';
      } else {
        const d = Deadline.after(opts.quitMs ?? DEFAULT_QUIT_MS, `QMP quit of ${this.name}`);
        try {
          await this.qmp.quit(d);
        } catch (e) {
          debug('%s: QMP quit failed: %s', this.name, (e as Error).message);
        }
        const gone = await d.race(this.proc.exited.then(() => true), () => new Error('still running')).catch(() => false);
        if (gone) {
          step = 'quit';
        } else {
          const t = await this.proc.terminate(opts.termGraceMs ?? DEFAULT_TERM_GRACE_MS);
          step = t === 'exited' ? 'quit' : t;
          debug('%s: QMP quit did not end QEMU; fell back to %s', this.name, step);
        }
      }
      this.qmp.close();
      await this.console.close();
      return step;
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { log } from '../common/log';
import type { StartedThinClient } from '../boot/thin-client';
import type { StartedLab } from './lab';
import { writeRunFile, type RunFileData } from './run-file';

const debug = log('lab');

export interface RunPublisherOptions {
  command: string;
  startedAt: Date;
}

/**
 * Keeps a `./lab boot`'s run file (see run-file.ts) up to date: its clients as they
 * start, each stage as it passes, the console sockets it serves, and whether it is kept.
 */
export class RunPublisher {
  private readonly seen = new Set<StartedThinClient>();
  private readonly consoles = new Map<string, string>();
  private kept = false;

  constructor(
    private readonly lab: StartedLab,
    private readonly clients: () => readonly StartedThinClient[],
    private readonly opts: RunPublisherOptions,
  ) {}

  /** Says the run is kept up, with a console socket per client (name -> path). */
  keep(consoles: ReadonlyMap<string, string>): void {
    for (const [name, path] of consoles) this.consoles.set(name, path);
    this.kept = true;
    this.write();
  }

  /** Writes the file now (new clients are followed from here on). */
  write(): void {
    for (const c of this.clients()) {
      if (this.seen.has(c)) continue;
      this.seen.add(c);
      c.onStage(() => this.write());
    }
    // Its state folder is gone once the lab stopped: nothing to publish any more.
    if (!existsSync(this.lab.run.stateDir)) return;
    try {
      writeRunFile(this.lab.run.stateDir, this.data());
    } catch (e) {
      debug('run file of %s not written: %s', this.lab.run.id, (e as Error).message);
    }
  }

  data(): RunFileData {
    return {
      version: 1,
      run: this.lab.run.id,
      owner: this.lab.run.owner,
      pid: process.pid,
      startedAt: this.opts.startedAt.toISOString(),
      command: this.opts.command,
      reportDir: this.lab.reportDir,
      kept: this.kept,
      clients: this.clients().map((c) => {
        const last = c.timeline[c.timeline.length - 1];
        const console = this.consoles.get(c.name);
        return {
          name: c.name,
          mac: c.mac,
          kind: c.client.kind,
          ...(c.leaseIp ? { lease: c.leaseIp } : {}),
          state: c.state,
          stage: c.state === 'shell' ? "dracut's emergency shell" : (last?.label ?? 'powered on'),
          ...(c.failedStage ? { failedStage: c.failedStage } : {}),
          ...(console ? { console } : {}),
          consoleLog: join(c.dir, 'console.log'),
        };
      }),
    };
  }
}

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Deadline } from '../common/deadline';
import { log } from '../common/log';
import { reap } from '../common/reaper';
import { RunContext } from '../common/run-context';
import { measureHostSpeed, type HostSpeed } from '../common/speed';
import { ThinClient, type ClientHost, type StartedThinClient } from '../boot/thin-client';
import { buildImages, checkServedImages, type ImageManifest } from '../images/image-set';
import { LabNetwork, type StartedLabNetwork } from '../network/lab-network';
import { LtspServerContainer, type ServedImages, type StartedLtspServer } from '../server/ltsp-server';

const debug = log('lab');

/** reports/ at the repo root. */
export const REPORTS_ROOT = resolve(__dirname, '..', '..', 'reports');

export interface LabStartOptions {
  deadline?: Deadline;
  /** Progress of long steps (image build), one line at a time. */
  onProgress?: (line: string) => void;
}

/**
 * A whole lab: the images, an internal network, the LTSP server on it. Clients are
 * added to the started lab. Builder; `start()` returns a StartedLab.
 *
 *   await using lab = await new Lab().withReportDir(dir).start();
 *   const c1 = await lab.client('c1').start(deadline);
 */
export class Lab {
  private reportDir?: string;
  private images?: Partial<ServedImages>;
  private run = new RunContext();
  private subnet?: string;
  private ipv6 = true;
  private serverEnv: Record<string, string> = {};

  withReportDir(dir: string): this {
    this.reportDir = dir;
    return this;
  }

  /** Serve these instead of what vm-images/build.sh makes (any field may be left out). */
  withImages(images: Partial<ServedImages>): this {
    this.images = images;
    return this;
  }

  withRunContext(run: RunContext): this {
    this.run = run;
    return this;
  }

  withSubnet(cidr: string): this {
    this.subnet = cidr;
    return this;
  }

  withIpv6(on: boolean): this {
    this.ipv6 = on;
    return this;
  }

  withServerEnv(env: Record<string, string>): this {
    this.serverEnv = { ...this.serverEnv, ...env };
    return this;
  }

  async start(opts: LabStartOptions = {}): Promise<StartedLab> {
    const deadline = opts.deadline ?? Deadline.after(45 * 60_000, 'lab start (image build included)');
    const speed = measureHostSpeed();
    // Whatever a dead run left behind goes first; live runs (another lab) are left alone.
    await reap({ deadline: deadline.child(60_000, 'reap dead runs'), except: this.run.id });
    this.run.register();
    const reportDir = this.reportDir ?? join(REPORTS_ROOT, this.run.id);
    mkdirSync(reportDir, { recursive: true });
    debug('run %s: speed %o, reports in %s', this.run.id, speed, reportDir);

    try {
      return await this.startRegistered(deadline, speed, reportDir, opts);
    } catch (e) {
      this.run.unregister();
      throw e;
    }
  }

  private async startRegistered(deadline: Deadline, speed: HostSpeed, reportDir: string, opts: LabStartOptions): Promise<StartedLab> {
    const manifest = await buildImages({ deadline: deadline.child(40 * 60_000, 'image build'), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    const served: ServedImages = {
      serverImage: this.images?.serverImage ?? manifest.serverImage,
      rootImage: this.images?.rootImage ?? manifest.rootImage,
      kernel: this.images?.kernel ?? manifest.kernel,
      initrd: this.images?.initrd ?? manifest.initrd,
    };
    await checkServedImages(served, deadline);

    const net = new LabNetwork(this.run).withIpv6(this.ipv6);
    if (this.subnet) net.withSubnet(this.subnet);
    const network = await net.start(deadline);
    let server: StartedLtspServer;
    try {
      server = await new LtspServerContainer(served, this.run, network)
        .withLogFile(join(reportDir, 'server.log'))
        .withServerEnv(this.serverEnv)
        .startWithin(deadline.child(60_000 * speed.factor, 'server ready'));
    } catch (e) {
      await network.stop();
      throw e;
    }
    return new StartedLab(this.run, network, server, speed, reportDir, manifest, served);
  }
}

export class StartedLab implements ClientHost, AsyncDisposable {
  private nextIndex = 1;
  private readonly clients = new Set<StartedThinClient>();
  private stopping?: Promise<void>;

  constructor(
    readonly run: RunContext,
    readonly network: StartedLabNetwork,
    readonly server: StartedLtspServer,
    readonly speed: HostSpeed,
    readonly reportDir: string,
    readonly manifest: ImageManifest,
    readonly served: ServedImages,
  ) {}

  /** A thin-client builder for this lab. */
  client(name: string): ThinClient {
    return new ThinClient(name, this);
  }

  allocateIndex(): number {
    return this.nextIndex++;
  }

  track(client: StartedThinClient, on: boolean): void {
    if (on) this.clients.add(client);
    else this.clients.delete(client);
  }

  get runningClients(): StartedThinClient[] {
    return [...this.clients];
  }

  /** Stops every client, the server and the network, in that order. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([...this.clients].map((c) => c.stop()));
      await this.server.stop();
      await this.network.stop();
      this.run.unregister();
      debug('run %s stopped', this.run.id);
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

import { createWriteStream, type WriteStream } from 'node:fs';
import {
  AbstractStartedContainer,
  GenericContainer,
  Wait,
  type StartedTestContainer,
  type StopOptions,
  type StoppedTestContainer,
} from 'testcontainers';
import { clientScriptsDir } from './client-scripts';
import { servedMounts, TFTP_ROOT, type ServedImages } from './boot-files';
import { Deadline } from '../common/deadline';
import { budgetMs } from '../common/budgets';
import { DOCKER_GONE_HINT, dockerSilence } from '../common/docker-daemon';
import { HarnessError, SutError } from '../common/errors';
import { log } from '../common/log';
import type { RunContext } from '../common/run-context';
import { hostInSubnet, LAB_HOSTS, type StartedLabNetwork } from '../network/lab-network';
import { checkHostSupports, initContainerSpec, removeServerCgroups, serviceCommand, type ServerInit, type ServiceAction } from './server-init';

// Ryuk, testcontainers' reaper, is an image we cannot pull here: we reap by label ourselves.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

const debug = log('server');
const LOG_TAIL = 400;

/** A file put into the server container before it starts. */
export type { ServedImages } from './boot-files';

export interface ServerFile {
  /** Absolute path in the container. */
  target: string;
  content: string;
}

/**
 * The LTSP server under test (dnsmasq DHCP+TFTP, iPXE script, busybox httpd, nbd-server) as a
 * container on the lab network. Only NET_ADMIN and NET_RAW are added (dnsmasq's DHCP
 * and router advertisements need them), and what its init needs (server-init.ts); it is
 * never privileged.
 */
export class LtspServerContainer extends GenericContainer {
  private logFile?: string;
  private readonly logLines: string[] = [];
  private init: ServerInit = 'entrypoint';

  constructor(
    images: ServedImages,
    private readonly run: RunContext,
    private readonly network: StartedLabNetwork,
  ) {
    super(images.serverImage);
    this.withName(run.serverName)
      .withLabels(run.labels({ 'ltsp-lab.role': 'server' }))
      .withNetworkMode(network.name)
      .withAddedCapabilities('NET_ADMIN', 'NET_RAW')
      .withBindMounts([...servedMounts(images), { source: clientScriptsDir(run), target: `${TFTP_ROOT}/clients`, mode: 'ro' }])
      .withEnvironment({ LAB_DHCP_RANGE: `${hostInSubnet(network.subnet, LAB_HOSTS.dhcpFirst)},${hostInSubnet(network.subnet, LAB_HOSTS.dhcpLast)}` })
      .withWaitStrategy(Wait.forLogMessage(/ltsp-server: ready/))
      .withLogConsumer((stream) => {
        let partial = '';
        stream.on('data', (chunk: Buffer | string) => {
          const lines = (partial + chunk.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) this.record(l);
        });
        stream.on('end', () => partial && this.record(partial));
      });
  }

  /** Where the container's log goes, as it arrives. */
  withLogFile(path: string): this {
    this.logFile = path;
    return this;
  }

  /** What runs as PID 1: our entrypoint (the default), systemd or sysvinit (server-init.ts). */
  withInit(init: ServerInit): this {
    this.init = init;
    return this;
  }

  withServerEnv(env: Record<string, string>): this {
    return this.withEnvironment(env);
  }

  withServerFiles(files: readonly ServerFile[]): this {
    return files.length === 0 ? this : this.withCopyContentToContainer(files.map((f) => ({ content: f.content, target: f.target, mode: 0o644 })));
  }

  private file?: WriteStream;
  private record(line: string): void {
    debug('%s', line);
    this.logLines.push(line);
    if (this.logLines.length > LOG_TAIL) this.logLines.splice(0, this.logLines.length - LOG_TAIL);
    this.file?.write(line + '\n');
  }

  /** Starts the server and waits until dnsmasq and nbd-server answer ("ltsp-server: ready"). */
  async startWithin(deadline: Deadline): Promise<StartedLtspServer> {
    if (this.logFile) {
      const file = (this.file = createWriteStream(this.logFile, { flags: 'a' }));
      // A full report disk: the clients' console logs name it; the server runs on unlogged.
      file.on('error', (err) => debug('server log %s failed after %d bytes: %s', this.logFile, file.bytesWritten, err.message));
    }
    checkHostSupports(this.init);
    const spec = initContainerSpec(this.init, this.run.id);
    this.withEnvironment(spec.env);
    if (spec.capAdd.length) this.withAddedCapabilities(...spec.capAdd);
    if (Object.keys(spec.tmpfs).length) this.withTmpFs(spec.tmpfs);
    // testcontainers' withBindMounts replaces the list: these go beside the served images.
    if (spec.binds.length) this.hostConfig.Binds = [...(this.hostConfig.Binds ?? []), ...spec.binds.map((b) => `${b.source}:${b.target}:${b.mode}`)];
    if (spec.stopSignal) this.createOpts.StopSignal = spec.stopSignal;
    if (spec.cgroupParent) this.hostConfig.CgroupParent = spec.cgroupParent;
    // Docker's API has had CgroupnsMode since 1.41 (20.10); dockerode's types lag behind.
    if (spec.cgroupnsMode) Object.assign(this.hostConfig, { CgroupnsMode: spec.cgroupnsMode });
    // systemd and sysvinit send nothing to the container's log: ready when the check passes.
    if (spec.readyCommand) this.withWaitStrategy(Wait.forSuccessfulCommand(spec.readyCommand.join(' ')));
    this.withStartupTimeout(Math.max(1000, Math.floor(deadline.remaining())));
    let started: StartedTestContainer;
    try {
      started = await super.start();
    } catch (e) {
      // testcontainers removes a container whose wait failed; its log tells why.
      this.file?.end();
      removeServerCgroups(this.run.id);
      const tail = this.logLines.slice(-40).join('\n');
      // A server that exited before it was ready fails the ready check's exec with Docker's 409: the stack's failure, with its log.
      if (dockerFailed(e) && !/is not running/.test((e as Error).message)) {
        throw new HarnessError(`docker could not start the LTSP server container: ${(e as Error).message}`, { cause: e, hint: DOCKER_GONE_HINT });
      }
      // A wait that ran out because Docker died under it is not the server's failure.
      const silence = await dockerSilence(Deadline.after(budgetMs('labWatch'), 'does Docker answer'));
      if (silence !== undefined) {
        throw new HarnessError(`the Docker daemon stopped answering while the LTSP server started: ${silence}`, { cause: e, hint: DOCKER_GONE_HINT });
      }
      throw new SutError(
        `the LTSP server (${this.init}) did not become ready: ${(e as Error).message}\n--- server log ---\n${tail || '(no output)'}`,
        { cause: e },
      );
    }
    const ip = started.getIpAddress(this.network.name);
    debug('server %s ready at %s (%s)', this.run.serverName, ip, this.init);
    return new StartedLtspServer(started, ip, this.init, this.run.id, this.logLines, this.file);
  }

  override async start(): Promise<StartedLtspServer> {
    throw new HarnessError('use startWithin(deadline): every wait in the lab has a deadline');
  }
}

/**
 * Whether a start failed in docker rather than in the server: an error reply of the
 * Docker API (dockerode sets statusCode) or no daemon at its socket. A server that
 * started and never said it was ready is the stack's failure; these are the lab's.
 */
export function dockerFailed(e: unknown): boolean {
  const err = e as { statusCode?: unknown; code?: unknown };
  return typeof err?.statusCode === 'number' || err?.code === 'ECONNREFUSED' || err?.code === 'ENOENT' || err?.code === 'EACCES';
}

export class StartedLtspServer extends AbstractStartedContainer {
  private stopping?: Promise<StoppedTestContainer | null>;

  constructor(
    started: StartedTestContainer,
    readonly ip: string,
    /** What runs as PID 1 in the server. */
    readonly init: ServerInit,
    private readonly runId: string,
    private readonly logLines: string[],
    private readonly file?: WriteStream,
  ) {
    super(started);
  }

  /**
   * Asks the server's init to act on a service (serviceCommand: the init script, systemctl
   * or service(8)); throws with its output on a non-zero exit unless allowed.
   */
  service(service: string, action: ServiceAction, deadline: Deadline, allowFailure = false): Promise<{ exitCode: number; output: string }> {
    return this.sh(serviceCommand(this.init, service, action).join(' '), allowFailure, deadline);
  }

  /**
   * What systemd and sysvinit logged, which never reaches the container's log: the journal,
   * or the LSB daemons' log files. Empty under the entrypoint, whose log is the container's.
   */
  async initLog(deadline: Deadline): Promise<string> {
    const cmd = { entrypoint: undefined, systemd: 'journalctl -b --no-pager -o short-monotonic', sysvinit: 'tail -n +1 /var/log/ltsp-*.log' }[this.init];
    if (!cmd) return '';
    return (await this.sh(`${cmd} 2>&1`, true, deadline)).output;
  }

  /** The server's most recent log lines (bounded). */
  logTail(n = 40): string[] {
    return this.logLines.slice(-n);
  }

  /** Its SSH host keys as `TYPE BASE64`, which a client checks it by (the login's; made at its image build). */
  async sshHostKeys(deadline?: Deadline): Promise<string[]> {
    const out = (await this.sh('cat /etc/ssh/ssh_host_*_key.pub', false, deadline)).output;
    return out.split('\n').map((l) => l.trim().split(/\s+/).slice(0, 2).join(' ')).filter((k) => /^\S+ \S+$/.test(k));
  }

  /** dnsmasq's leases: MAC → IPv4. */
  async leases(): Promise<Map<string, string>> {
    const res = await this.exec(['cat', '/var/lib/misc/dnsmasq.leases']);
    const out = new Map<string, string>();
    for (const line of res.output.split('\n')) {
      const [, mac, ip] = line.trim().split(/\s+/);
      if (mac && ip) out.set(mac.toLowerCase(), ip);
    }
    return out;
  }

  /**
   * Runs a command in the server; throws with its output on a non-zero exit unless
   * allowed. With a deadline, a server that does not answer in time is a HarnessError.
   */
  async sh(command: string, allowFailure = false, deadline?: Deadline): Promise<{ exitCode: number; output: string }> {
    const exec = this.exec(['sh', '-c', command]);
    const res = deadline ? await deadline.race(exec, () => new HarnessError(`the server did not answer '${command}' within ${(deadline.totalMs / 1000).toFixed(0)} s`)) : await exec;
    if (res.exitCode !== 0 && !allowFailure) {
      throw new SutError(`'${command}' in the server exited ${res.exitCode}: ${res.output.trim()}`);
    }
    return { exitCode: res.exitCode, output: res.output };
  }

  /**
   * Idempotent: safe after a failed start or a container killed from outside. Resolves
   * to testcontainers' stopped handle, or null when the container was already gone.
   */
  override stop(options?: Partial<StopOptions>): Promise<StoppedTestContainer> {
    this.stopping ??= (async () => {
      let stopped: StoppedTestContainer | null = null;
      try {
        const log = await this.initLog(Deadline.after(budgetMs('serverInitLog'), 'the init\'s log')).catch(() => '');
        if (log) this.file?.write(`--- ${this.init}'s log ---\n${log}`);
      } catch {
        /* a server already gone has no log to give */
      }
      try {
        stopped = await super.stop({ timeout: budgetMs('serverStopGrace'), ...options });
      } catch (e) {
        debug('server stop: %s', (e as Error).message);
      }
      const left = removeServerCgroups(this.runId);
      if (left.length) debug('server stop: cgroups still in use: %o', left);
      await new Promise<void>((resolve) => (this.file && !this.file.destroyed ? this.file.end(resolve) : resolve()));
      return stopped;
    })();
    // Callers only await completion; the handle is testcontainers' own when there is one.
    return this.stopping as Promise<StoppedTestContainer>;
  }
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ConsoleLog, type FailPattern } from './console-log';
import type { Deadline } from './deadline';
import { LaunchError, QemuConfigError } from './errors';
import { log } from './log';
import { ProcessGroup } from './process-group';
import { QmpClient } from './qmp-client';
import { StartedQemuMachine } from './started-qemu-machine';


const debug = log('qemu');


/** The QEMU id of a machine's i-th netdev (QMP set_link and netdev filters name it). */
export function netdevId(i: number): string {
  return `net${i}`;
}

export interface NicSpec {
  /** QEMU device model, e.g. virtio-net-pci, e1000. */
  model: string;
  mac: string;
  /** Host tap interface the NIC's netdev uses. */
  tap: string;
}

export interface DiskSpec {
  path: string;
  readOnly: boolean;
  /** QEMU's -drive if=, e.g. virtio. */
  iface: string;
}

export interface DirectKernel {
  kernel: string;
  initrd: string;
  append: string;
}

/** What runs the guest's code: KVM, or QEMU's own translator. */
export type Accel = 'kvm' | 'tcg';

// QEMU creates its QMP socket a moment after spawn; a slow host may take seconds.
const DEFAULT_QMP_CONNECT_MS = 30_000;

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/**
 * A QEMU x86 machine, configured with a builder and started into a
 * StartedQemuMachine that owns the process group, the serial console and QMP.
 *
 *   new QemuMachine('c1', runDir).withMemory(384).withNic({...}).withBootOrder('n')
 *
 * The serial port is QEMU's stdio (so nothing printed before we connect is lost, and
 * typing into stdin types at the console); QMP listens on a unix socket in runDir.
 */
/** The QEMU a machine runs unless withBinary() names another: qemu-system-x86_64 on PATH. */
export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';

export class QemuMachine {
  private binary = DEFAULT_QEMU_BINARY;
  private machine = 'pc';
  private memoryMb = 384;
  private cpus = 1;
  // KVM only when the caller says so: a host's /dev/kvm may be there and still not run the guest.
  private accel: Accel = 'tcg';
  private tbSizeMb = 256;
  private qmp = true;
  private readonly nics: NicSpec[] = [];
  private readonly disks: DiskSpec[] = [];
  private bootOrder?: string;
  private direct?: DirectKernel;
  private readonly extra: string[] = [];
  private consoleLogFile?: string;
  private qmpLogFile?: string;
  private failOn: readonly FailPattern[] = [];

  constructor(
    readonly name: string,
    private readonly runDir: string,
  ) {}

  withBinary(path: string): this {
    this.binary = path;
    return this;
  }

  withMachine(type: string): this {
    this.machine = type;
    return this;
  }

  withMemory(mb: number): this {
    if (!Number.isInteger(mb) || mb < 64 || mb > 65536) {
      throw new QemuConfigError(`memory ${mb} MB is out of range: give 64 to 65536 MB`);
    }
    this.memoryMb = mb;
    return this;
  }

  withCpus(n: number): this {
    if (!Number.isInteger(n) || n < 1 || n > 16) throw new QemuConfigError(`cpus ${n} is out of range: give 1 to 16`);
    this.cpus = n;
    return this;
  }

  /**
   * The accelerator (default TCG). TCG's translation cache defaults to 1 GiB
   * (RSS = guest RAM + ~0.7 GiB); 256 MiB cut that without slowing boots here.
   */
  withAccel(accel: Accel, tbSizeMb = 256): this {
    this.accel = accel;
    this.tbSizeMb = tbSizeMb;
    return this;
  }

  /** Without QMP (-qmp): for a machine that is only watched on its console, like the accelerator probe. */
  withoutQmp(): this {
    this.qmp = false;
    return this;
  }

  withNic(nic: NicSpec): this {
    const mac = nic.mac.toLowerCase();
    if (!MAC_RE.test(mac)) throw new QemuConfigError(`MAC '${nic.mac}' is not of the form 52:54:00:xx:xx:xx`);
    if (this.nics.some((n) => n.mac === mac)) throw new QemuConfigError(`MAC ${mac} is given twice on ${this.name}`);
    this.nics.push({ ...nic, mac });
    return this;
  }

  withDisk(disk: DiskSpec): this {
    this.disks.push(disk);
    return this;
  }

  /** -boot order=..., e.g. 'n' for network first. */
  withBootOrder(order: string): this {
    this.bootOrder = order;
    return this;
  }

  /** Boots a kernel directly (-kernel/-initrd/-append), skipping firmware and PXE. */
  withDirectKernel(direct: DirectKernel): this {
    this.direct = direct;
    return this;
  }

  withExtraArgs(...args: string[]): this {
    this.extra.push(...args);
    return this;
  }

  withConsoleLog(path: string): this {
    this.consoleLogFile = path;
    return this;
  }

  withQmpLog(path: string): this {
    this.qmpLogFile = path;
    return this;
  }

  /** Console output that ends every console wait at once unless the wait names its own (a kernel panic). */
  withConsoleFailPatterns(patterns: readonly FailPattern[]): this {
    this.failOn = [...patterns];
    return this;
  }

  get qmpSocket(): string {
    return join(this.runDir, `${this.name}.qmp`);
  }

  get pidFile(): string {
    return join(this.runDir, `${this.name}.pid`);
  }

  /** SeaBIOS mirrors int10 text output (SeaBIOS, iPXE) to this port when the file holds it (little endian). */
  get serconFile(): string {
    return join(this.runDir, 'sercon-port');
  }

  /** The full command line, binary first. Pure: unit tests compare it with golden arrays. */
  argv(): string[] {
    const a = [this.binary, '-name', `${this.name},process=qemu-${this.name}`];
    a.push('-machine', this.machine);
    a.push('-accel', this.accel === 'kvm' ? 'kvm' : `tcg,tb-size=${this.tbSizeMb}`);
    if (this.accel === 'kvm') a.push('-cpu', 'host');
    a.push('-m', String(this.memoryMb), '-smp', String(this.cpus));
    // No floppy, CD-ROM, default NIC, VGA or parallel port: less for the guest to probe.
    a.push('-nodefaults', '-no-user-config', '-display', 'none');
    a.push('-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console');
    a.push('-fw_cfg', `name=etc/sercon-port,file=${this.serconFile}`);
    if (this.qmp) a.push('-qmp', `unix:${this.qmpSocket},server=on,wait=off`);
    a.push('-pidfile', this.pidFile);
    this.nics.forEach((nic, i) => {
      a.push('-netdev', `tap,id=${netdevId(i)},ifname=${nic.tap},script=no,downscript=no`);
      a.push('-device', `${nic.model},netdev=${netdevId(i)},mac=${nic.mac}${this.bootOrder?.startsWith('n') && i === 0 ? ',bootindex=1' : ''}`);
    });
    this.disks.forEach((d, i) => {
      a.push('-drive', `file=${d.path},format=raw,if=${d.iface},index=${i},cache=unsafe${d.readOnly ? ',readonly=on' : ''}`);
    });
    if (this.direct) a.push('-kernel', this.direct.kernel, '-initrd', this.direct.initrd, '-append', this.direct.append);
    if (this.bootOrder) a.push('-boot', `order=${this.bootOrder},strict=on`);
    a.push(...this.extra);
    return a;
  }

  /** Spawns QEMU in its own process group and connects QMP; tears down on any failure. */
  /** Makes the run folder and the files argv() names (the sercon port), for start() or a caller that spawns argv() itself. */
  prepare(): void {
    mkdirSync(this.runDir, { recursive: true });
    writeFileSync(this.serconFile, Buffer.from([0xf8, 0x03])); // 0x3f8: COM1
  }

  /** Spawns argv() in its own process group (pidfile in the run folder); a missing binary is a LaunchError with code ENOENT. */
  async spawn(): Promise<ProcessGroup> {
    this.prepare();
    const [command, ...args] = this.argv();
    debug('%s: %s', this.name, this.argv().join(' '));
    return ProcessGroup.spawn({ command: command as string, args, name: `qemu ${this.name}`, stdin: 'pipe', pidFile: this.pidFile });
  }

  /** Reads a console from a machine spawned with spawn(), with this builder's log file and failure patterns. */
  consoleFor(proc: ProcessGroup, startedAt = performance.now()): ConsoleLog {
    const console = new ConsoleLog({ name: this.name, startedAt, failOn: this.failOn, ...(this.consoleLogFile ? { logFile: this.consoleLogFile } : {}) });
    console.attach(proc.stdout);
    return console;
  }

  async start(deadline: Deadline): Promise<StartedQemuMachine> {
    if (!this.qmp) throw new QemuConfigError(`${this.name}: start() needs QMP; a machine built withoutQmp() is spawned with spawn()`);
    const startedAt = performance.now();
    const proc = await this.spawn();
    const console = this.consoleFor(proc, startedAt);
    let qmp: QmpClient;
    try {
      const connecting = QmpClient.connect(this.qmpSocket, {
        deadline: deadline.child(DEFAULT_QMP_CONNECT_MS, `QMP connect to ${this.name}`),
        ...(this.qmpLogFile ? { logFile: this.qmpLogFile } : {}),
      });
      const early = proc.exited.then((s) => {
        throw new LaunchError(`QEMU for ${this.name} exited at start (code ${s.code}, signal ${s.signal})`, {
          process: `qemu ${this.name}`,
          stderrTail: proc.stderrTail(20),
        });
      });
      qmp = await Promise.race([connecting, early]);
      connecting.catch(() => undefined);
      early.catch(() => undefined);
    } catch (e) {
      await proc.terminate(2000);
      await console.close();
      throw e;
    }
    return new StartedQemuMachine(this.name, proc, console, qmp, startedAt);
  }
}

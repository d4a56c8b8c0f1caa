import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline } from '../common/deadline';
import { qemuConfigUsageError, UsageError } from '../common/errors';
import { log } from '../common/log';
import { stepDeadline } from '../common/run-deadline';
import type { StartedQemuMachine } from '../qemu-ts-wrapper';
import { labMachine, startQemu } from '../qemu/lab-qemu';
import { writeClientScript } from '../server/client-scripts';
import { ROOT_EXPORT } from '../server/boot-files';
import { clientScript, kernelArgs, ltsp23KernelArgs, validateRootArg } from './kernel-args';
import { bootStages, type StageDef } from './stages';
import { budgetMs } from '../common/budgets';
import { clientSpec, type ClientKind, type ClientSpec, type UnionMethod } from '../client/client-spec';
import { StartedThinClient, type ClientHost } from './started-thin-client';

export type { CommandResult } from './serial-shell';
export type { ClientHost, ClientState, LabWatch } from './started-thin-client';
export { StartedThinClient };

const debug = log('boot');

/** A client asks for an export by name: refused up front when the server does not list it. */
export function checkExport(name: string, exports: readonly string[]): void {
  if (!exports.includes(name)) {
    throw new UsageError(`the server has no NBD export '${name}'`, { hint: `it has: ${exports.join(', ') || '(none)'}` });
  }
}

/**
 * A thin client: a QEMU PC with a NIC on the lab bridge that PXE-boots from the lab's
 * server. Builder; `start()` returns a StartedThinClient.
 */
export class ThinClient {
  private memoryMb = 384;
  private nicModel = 'virtio-net-pci';
  private mac?: string;
  private append?: string;
  private exportName = 'root';
  private exportChecked = true;
  private rescueShell = false;
  private rootArg?: string;
  private qemuBinary?: string;
  private spec?: ClientSpec;

  constructor(
    readonly name: string,
    private readonly host: ClientHost,
  ) {
    if (!/^[a-z][a-z0-9-]{0,15}$/.test(name)) throw new UsageError(`client name '${name}' must be 1-16 of a-z, 0-9, -`);
  }

  /** What this client boots (client/client-spec.ts); the lab's default otherwise. */
  boots(spec: ClientSpec): this {
    this.spec = spec;
    return this;
  }

  /** Boots a client of this kind (ltsp: the lab's own kernel and initramfs; stock: Debian's), other dimensions as given so far. */
  withKind(kind: ClientKind): this {
    return this.boots(clientSpec({ ...this.client, kind }));
  }

  /** What this client boots. */
  get client(): ClientSpec {
    return this.spec ?? this.host.defaultClient;
  }

  withMemory(mb: number): this {
    this.memoryMb = mb;
    return this;
  }

  withNic(model: string): this {
    this.nicModel = model;
    return this;
  }

  withMac(mac: string): this {
    this.mac = mac.toLowerCase();
    return this;
  }

  /** The copy-on-write union over the read-only NBD root (unionfs-fuse by default; none: the plain root), other dimensions as given so far. */
  withUnion(method: UnionMethod): this {
    return this.boots(clientSpec({ ...this.client, union: method }));
  }

  /** Extra kernel arguments (validated). */
  withAppend(args: string): this {
    this.append = args;
    return this;
  }

  /** Another QEMU binary (default: qemu-system-x86_64 on PATH). */
  withQemuBinary(path: string): this {
    this.qemuBinary = path;
    return this;
  }

  /** The root argument in place of the lab's root=nbd:... (a template: {server}, {export}; see kernelArgs). */
  withRootArg(template: string): this {
    this.rootArg = validateRootArg(template);
    return this;
  }

  /** The NBD export to ask for (the server has "root"). */
  withExportName(name: string): this {
    this.exportName = name;
    return this;
  }

  /**
   * Boots even when the server does not list the export: the failure is what a person
   * wants to look at (./lab boot --keep). Otherwise an unknown export is a UsageError
   * before QEMU starts.
   */
  withExportUnchecked(): this {
    this.exportChecked = false;
    return this;
  }

  /** A failed initramfs stops at dracut's emergency shell, soon (RESCUE_ARGS on the kernel command line). */
  withRescueShell(): this {
    this.rescueShell = true;
    return this;
  }

  get stages(): StageDef[] {
    return bootStages({ client: this.client });
  }

  /** Writes the client's iPXE script, adds its tap and starts QEMU. Tears down on failure. */
  async start(deadline: Deadline = stepDeadline(budgetMs('clientStart', this.host.speed), `start ${this.name}`)): Promise<StartedThinClient> {
    const spec = this.client;
    // The ltsp23 stack boots LTSP's image, exported under the name LTSP gave it: its own root, no union switch, no root argument of the k12 stack's.
    const ltsp23 = spec.stack === 'ltsp23' ? this.host.ltsp23Image() : undefined;
    if (ltsp23 !== undefined && (this.rootArg !== undefined || this.exportName !== ROOT_EXPORT)) {
      throw new UsageError("--root-arg and --export are for the k12 stack: the ltsp23 stack boots LTSP's image, by its own name", { hint: 'leave them out with --stack ltsp23' });
    }
    const exportName = ltsp23 ?? this.exportName;
    if (this.host.exports && this.exportChecked) checkExport(exportName, this.host.exports);
    const kernelVersion = this.host.kernelVersionFor(spec);
    const index = this.host.allocateIndex();
    const mac = this.mac ?? `52:54:00:4c:${this.host.run.id.charCodeAt(5).toString(16).padStart(2, '0')}:${index.toString(16).padStart(2, '0')}`;
    const holder = this.host.macHolder(mac);
    if (holder) throw new UsageError(`MAC ${mac} is already used by client ${holder} in this lab: dnsmasq leases by MAC`, { hint: 'give each client its own MAC' });
    const append = this.append ? { append: this.append } : {};
    const args =
      ltsp23 !== undefined
        ? ltsp23KernelArgs({ imageName: ltsp23, ...append })
        : kernelArgs({ exportName: this.exportName, union: spec.union, rescueShell: this.rescueShell, ...append, ...(this.rootArg ? { rootArg: this.rootArg } : {}) });
    const dir = join(this.host.reportDir, this.name);
    mkdirSync(dir, { recursive: true });
    const machine = labMachine(this.name, join(this.host.run.stateDir, this.name))
      .withAccel(this.host.speed.accel)
      .withBootOrder('n')
      .withConsoleLog(join(dir, 'console.log'))
      .withQmpLog(join(dir, 'qmp.log'));
    try {
      machine.withMemory(this.memoryMb);
    } catch (e) {
      throw qemuConfigUsageError(e, 'thin clients boot with 384 MB; 256 MB is the smallest that fits this kernel and initramfs');
    }
    writeClientScript(this.host.run, mac, clientScript(this.name, args, spec, ltsp23));
    const tap = await this.host.network.addTap(index, deadline);
    let qemu: StartedQemuMachine;
    try {
      machine.withNic({ model: this.nicModel, mac, tap: tap.name });
      if (this.qemuBinary) machine.withBinary(this.qemuBinary);
      qemu = await startQemu(machine, deadline);
    } catch (e) {
      await this.host.network.removeTap(tap, Deadline.after(budgetMs('teardown'), `remove tap ${tap.name}`));
      throw qemuConfigUsageError(e);
    }
    debug('%s started: pid %d mac %s tap %s client %o', this.name, qemu.pid, mac, tap.name, spec);
    const client = new StartedThinClient(this.name, mac, qemu, tap, this.host, this.stages, this.memoryMb, dir, exportName, this.exportChecked, { spec, kernelVersion });
    this.host.track(client, true);
    return client;
  }
}

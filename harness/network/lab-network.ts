import { existsSync } from 'node:fs';
import { budgetMs } from '../common/budgets';
import { Deadline } from '../common/deadline';
import { HarnessError, SetupError, UsageError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { lossComment, ruleComment } from '../common/resource-names';
import type { RunContext } from '../common/run-context';
import { installHostGuard, removeGuardRules, type GuardRule } from './host-guard';

const debug = log('network');

/** The lab subnets are carved from this /16, one /24 per lab. */
const SUBNET_POOL = '10.213';
/** Docker assigns container addresses from the first /26 (the server gets .2); dnsmasq leases LAB_HOSTS' range. */
const DOCKER_IP_RANGE_BITS = 26;

/** Host numbers inside a lab /24: the bridge's gateway, and the range the server's dnsmasq leases (clients). */
export const LAB_HOSTS = { gateway: 1, dhcpFirst: 100, dhcpLast: 199 } as const;

/** The first three octets of a lab /24 ('10.213.4.0/24' -> '10.213.4.'). */
function netPrefix(subnet: string, what: string): string {
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)0\/24$/.exec(subnet);
  if (!m) throw new HarnessError(`${what} of '${subnet}': the lab's subnets are /24s and hosts 1-254`);
  return m[1]!;
}

/** Host `n` of a lab subnet: hostInSubnet('10.213.4.0/24', 100) is 10.213.4.100. */
export function hostInSubnet(subnet: string, n: number): string {
  const prefix = netPrefix(subnet, `host ${n}`);
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new HarnessError(`host ${n} of '${subnet}': the lab's subnets are /24s and hosts 1-254`);
  return `${prefix}${n}`;
}

/** Whether `ip` is an address of the lab subnet. */
export function inSubnet(subnet: string, ip: string): boolean {
  const prefix = netPrefix(subnet, ip);
  const last = ip.startsWith(prefix) ? ip.slice(prefix.length) : '';
  return /^\d{1,3}$/.test(last) && Number(last) <= 255;
}

export interface Tap {
  name: string;
  index: number;
}

/**
 * An internal docker network (no route out) whose bridge the QEMU clients' taps join.
 * Builder: configure, then `start()`.
 */
export class LabNetwork {
  private subnet?: string;
  private ipv6 = true;
  private tunDevice = '/dev/net/tun';

  constructor(private readonly run: RunContext) {}

  /** A /24 inside 10.213.0.0/16; default: the first one no docker network or host route uses. */
  withSubnet(cidr: string): this {
    if (!/^10\.213\.\d{1,3}\.0\/24$/.test(cidr) || Number(cidr.split('.')[2]) > 255) {
      throw new UsageError(`lab subnet '${cidr}' is not a /24 inside ${SUBNET_POOL}.0.0/16`, { hint: 'e.g. --subnet 10.213.5.0/24' });
    }
    this.subnet = cidr;
    return this;
  }

  /**
   * An IPv6 ULA on the lab: the server's router advertisement answers iPXE's router
   * discovery at once, instead of iPXE waiting ~13 s for it before DHCPv4 completes.
   */
  withIpv6(on: boolean): this {
    this.ipv6 = on;
    return this;
  }

  /** The TUN/TAP control device to require (tests point it elsewhere). */
  withTunDevice(path: string): this {
    this.tunDevice = path;
    return this;
  }

  async start(deadline: Deadline): Promise<StartedLabNetwork> {
    if (!existsSync(this.tunDevice)) {
      throw new SetupError(`${this.tunDevice} is missing: QEMU clients need tap devices`, { hint: 'modprobe tun, or run the lab on a host with TUN support' });
    }
    const candidates = this.subnet ? [this.subnet] : await freeSubnets(deadline);
    let lastError: unknown;
    for (const subnet of candidates.slice(0, 8)) {
      const third = subnet.split('.')[2];
      const args = [
        'network', 'create', '--driver', 'bridge', '--internal',
        '--subnet', subnet,
        '--ip-range', `${SUBNET_POOL}.${third}.0/${DOCKER_IP_RANGE_BITS}`,
        '--gateway', `${SUBNET_POOL}.${third}.1`,
        '-o', `com.docker.network.bridge.name=${this.run.bridgeName}`,
        ...Object.entries(this.run.labels()).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
      ];
      const ula = `fd00:213:${Number(third).toString(16)}::`;
      if (this.ipv6) args.push('--ipv6', '--subnet', `${ula}/64`);
      args.push(this.run.networkName);
      const res = await execCommand('docker', args, { deadline, allowFailure: true });
      if (res.code === 0) {
        const started = new StartedLabNetwork(this.run, subnet, this.ipv6 ? `${ula}/64` : undefined);
        try {
          await started.allowBridgedTraffic(deadline);
          await started.closeHost(deadline);
        } catch (e) {
          await started.stop();
          throw e;
        }
        debug('network %s on %s (%s)', this.run.networkName, this.run.bridgeName, subnet);
        return started;
      }
      lastError = res.stderr.trim();
      // Another lab may have taken the subnet between our look and our create.
      if (!/overlap|already/i.test(res.stderr)) break;
    }
    throw new HarnessError(`could not create the lab network ${this.run.networkName}: ${String(lastError)}`);
  }
}

/** /24s of the pool that no docker network and no host route uses, in order. */
async function freeSubnets(deadline: Deadline): Promise<string[]> {
  const used = new Set<string>();
  const ids = (await execCommand('docker', ['network', 'ls', '-q'], { deadline })).stdout.split(/\s+/).filter(Boolean);
  if (ids.length > 0) {
    const out = await execCommand('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids], {
      deadline,
      allowFailure: true,
    });
    for (const s of out.stdout.split(/\s+/)) used.add(s);
  }
  const routes = await execCommand('ip', ['-4', 'route', 'show'], { deadline });
  for (const r of routes.stdout.split('\n')) used.add(r.split(' ')[0] ?? '');
  const free: string[] = [];
  for (let n = 1; n < 255; n++) {
    const s = `${SUBNET_POOL}.${n}.0/24`;
    if (!used.has(s)) free.push(s);
  }
  if (free.length === 0) throw new SetupError(`no free /24 left in ${SUBNET_POOL}.0.0/16`, { hint: './lab clean' });
  return free;
}

export class StartedLabNetwork {
  readonly name: string;
  readonly bridge: string;
  readonly gateway: string;
  private readonly taps = new Map<string, Tap>();
  /** Taps with a loss fault on them: tap name -> percent. */
  private readonly lossTaps = new Map<string, number>();
  private ruleInstalled = false;
  private guard: GuardRule[] = [];
  private stopped = false;

  constructor(
    private readonly run: RunContext,
    readonly subnet: string,
    readonly ipv6Subnet?: string,
  ) {
    this.name = run.networkName;
    this.bridge = run.bridgeName;
    this.gateway = hostInSubnet(subnet, LAB_HOSTS.gateway);
  }

  /** The iptables rule that lets frames stay on the lab bridge (see allowBridgedTraffic). */
  private ruleArgs(op: '-I' | '-D' | '-C'): string[] {
    return [op, 'DOCKER-USER', '-i', this.bridge, '-o', this.bridge, '-j', 'ACCEPT', '-m', 'comment', '--comment', ruleComment(this.run.id)];
  }

  /**
   * With br_netfilter on, bridged frames traverse iptables FORWARD, where docker's
   * --internal isolation drops anything without a lab-subnet address: a client's
   * DHCPDISCOVER comes from 0.0.0.0. One rule in DOCKER-USER accepts exactly the traffic
   * that stays on this bridge; it goes with the network.
   */
  async allowBridgedTraffic(deadline: Deadline): Promise<void> {
    if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) return;
    const has = await execCommand('iptables', ['-n', '-L', 'DOCKER-USER'], { deadline, allowFailure: true });
    if (has.code !== 0) {
      throw new SetupError("iptables has no DOCKER-USER chain: is dockerd running with its iptables rules?", { hint: 'start dockerd with --iptables=true' });
    }
    await execCommand('iptables', this.ruleArgs('-I'), { deadline });
    this.ruleInstalled = true;
    await execCommand('iptables', this.ruleArgs('-C'), { deadline });
  }

  /**
   * The bridge holds the host's address in the lab; these rules drop what the lab opens
   * towards the host, so a client reaches the server and its peers and nothing of the
   * host's (see host-guard.ts). In before any client or server is on the bridge.
   */
  async closeHost(deadline: Deadline): Promise<void> {
    this.guard = await installHostGuard(this.bridge, this.run.id, deadline);
  }

  /** A tap on the lab bridge for client number `index`. */
  async addTap(index: number, deadline: Deadline): Promise<Tap> {
    const name = this.run.tapName(index);
    if (this.taps.has(name)) throw new UsageError(`client number ${index} already has a tap (${name})`);
    await execCommand('ip', ['tuntap', 'add', 'dev', name, 'mode', 'tap'], { deadline });
    const tap = { name, index };
    this.taps.set(name, tap);
    try {
      await execCommand('ip', ['link', 'set', 'dev', name, 'master', this.bridge], { deadline });
      await execCommand('ip', ['link', 'set', 'dev', name, 'up'], { deadline });
    } catch (e) {
      await this.removeTap(tap, Deadline.after(budgetMs('teardown'), `remove tap ${name}`));
      throw e;
    }
    return tap;
  }

  async removeTap(tap: Tap, deadline: Deadline): Promise<void> {
    this.taps.delete(tap.name);
    await this.removeLoss(tap, deadline);
    await execCommand('ip', ['link', 'del', 'dev', tap.name], { deadline, allowFailure: true });
  }

  /**
   * A lab fault: drops `pct` % of the frames a tap's client sends and receives, at random
   * (iptables' statistic match on the bridge; this host's kernel has no sch_netem). The
   * rules carry the run's comment, so the network's stop, and a later run's reaper after
   * a SIGKILL, remove them with the bridge rule.
   */
  async addLoss(tap: Tap, pct: number, deadline: Deadline): Promise<void> {
    if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) {
      throw new SetupError('a loss fault needs br_netfilter (bridged frames through iptables)', { hint: 'modprobe br_netfilter' });
    }
    for (const args of this.lossRules(tap, pct)) await execCommand('iptables', ['-I', 'DOCKER-USER', '1', ...args], { deadline });
    this.lossTaps.set(tap.name, pct);
  }

  /** Takes a tap's loss rules out again. Idempotent. */
  async removeLoss(tap: Tap, deadline: Deadline): Promise<void> {
    const pct = this.lossTaps.get(tap.name);
    if (pct === undefined) return;
    this.lossTaps.delete(tap.name);
    for (const args of this.lossRules(tap, pct)) await execCommand('iptables', ['-D', 'DOCKER-USER', ...args], { deadline, allowFailure: true });
  }

  /** Frames a tap's loss rules dropped so far (both directions). */
  async lostFrames(tap: Tap, deadline: Deadline): Promise<number> {
    const r = await execCommand('iptables', ['-L', 'DOCKER-USER', '-v', '-x', '-n'], { deadline });
    let n = 0;
    for (const line of r.stdout.split('\n')) if (line.includes(this.lossComment(tap))) n += Number(line.trim().split(/\s+/)[0]) || 0;
    return n;
  }

  private lossComment(tap: Tap): string {
    return lossComment(this.run.id, tap.name);
  }

  private lossRules(tap: Tap, pct: number): string[][] {
    const p = (pct / 100).toFixed(4);
    const tail = ['-m', 'statistic', '--mode', 'random', '--probability', p, '-j', 'DROP', '-m', 'comment', '--comment', this.lossComment(tap)];
    return [
      ['-m', 'physdev', '--physdev-out', tap.name, ...tail],
      ['-m', 'physdev', '--physdev-in', tap.name, ...tail],
    ];
  }

  /** Whether the bridge still exists (it can vanish under a running lab). */
  async bridgeExists(deadline: Deadline): Promise<boolean> {
    return (await execCommand('ip', ['link', 'show', 'dev', this.bridge], { deadline, allowFailure: true })).code === 0;
  }

  /** Removes taps, the iptables rules (the bridge's and the host guard's) and the network. Idempotent; carries on past errors. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const deadline = Deadline.after(budgetMs('teardown'), `remove lab network ${this.name}`);
    for (const tap of [...this.taps.values()]) await this.removeTap(tap, deadline);
    if (this.ruleInstalled) {
      // -D removes one copy; loop in case the rule went in twice.
      for (let i = 0; i < 4; i++) {
        const r = await execCommand('iptables', this.ruleArgs('-D'), { deadline, allowFailure: true });
        if (r.code !== 0) break;
      }
    }
    await execCommand('docker', ['network', 'rm', this.name], { deadline, allowFailure: true });
    // Last, and only with the bridge gone: a server Docker could not remove stays shut off
    // from the host until the reaper takes the network, and the guard with it.
    if (!(await this.bridgeExists(deadline))) await removeGuardRules(this.guard, deadline);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

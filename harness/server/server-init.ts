import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { SetupError, UsageError } from '../common/errors';
import { NETWORK_NAME } from '../common/resource-names';

/**
 * What runs as PID 1 in the server container (vm-images/server/rootfs/usr/local/sbin/ltsp-init
 * reads it from LAB_SERVER_INIT):
 * - entrypoint: ltsp-server, our bash supervisor (the lab's default);
 * - systemd: systemd 252 with nbd-server.service (the seed's unit), ltsp-dnsmasq.service, ltsp-httpd.service, ltsp-sshd.service;
 * - sysvinit: sysvinit-core with the seed's LSB script and ltsp-dnsmasq, ltsp-httpd, ltsp-sshd linked into runlevel 3.
 */
export const SERVER_INITS = ['entrypoint', 'systemd', 'sysvinit'] as const;
export type ServerInit = (typeof SERVER_INITS)[number];

export function parseServerInit(value: string): ServerInit {
  const init = SERVER_INITS.find((i) => i === value);
  if (!init) throw new UsageError(`--server-init '${value}' is not one of ${SERVER_INITS.join(', ')}`, { hint: 'entrypoint (the default) is the lab\'s bash supervisor; systemd and sysvinit run a real init as PID 1' });
  return init;
}

export type ServiceAction = 'start' | 'stop' | 'restart' | 'reload' | 'status';

/**
 * The command that asks the server's init to act on one of its services: the seed's init
 * script under the entrypoint (nothing else manages it there), systemctl under systemd
 * (running the script directly would start nbd-server behind systemd's back), service(8)
 * under sysvinit.
 */
export function serviceCommand(init: ServerInit, service: string, action: ServiceAction): string[] {
  switch (init) {
    case 'entrypoint':
      return [`/etc/init.d/${service}`, action];
    case 'systemd':
      return action === 'status' ? ['systemctl', 'status', '--no-pager', `${service}.service`] : ['systemctl', action, `${service}.service`];
    case 'sysvinit':
      return ['service', service, action];
  }
}

/** systemd's legacy (cgroup v1) hierarchy on the host, which systemd in the container must write to. */
export const SYSTEMD_CGROUP = '/sys/fs/cgroup/systemd';
/** The host's cgroup v2 hierarchy beside the v1 ones (systemd's "hybrid" layout). */
export const UNIFIED_CGROUP = '/sys/fs/cgroup/unified';
/** The cgroup v1 hierarchies of the host (cpu, memory, name=systemd, ...). */
const CGROUP_ROOT = '/sys/fs/cgroup';

/** The cgroup a run's server container is put under (docker --cgroup-parent), in every hierarchy. */
export function serverCgroupParent(runId: string): string {
  return `ltsp-lab-${runId}`;
}

/** How the server container is created for an init; a pure function of the init and the run. */
export interface InitContainerSpec {
  env: Record<string, string>;
  /** Capabilities beyond Docker's defaults and the server's NET_ADMIN and NET_RAW. */
  capAdd: string[];
  /** Mount point -> tmpfs options. */
  tmpfs: Record<string, string>;
  binds: { source: string; target: string; mode: 'ro' | 'rw' }[];
  /** docker stop's signal, when the init does not stop on SIGTERM. */
  stopSignal?: string;
  cgroupParent?: string;
  cgroupnsMode?: 'host';
  /** Ready when this command exits 0 in the container (the entrypoint prints a line instead). */
  readyCommand?: string[];
}

/** /run/ltsp-server/lab.env is read by the units and scripts: see ltsp-server-ready. */
const READY = ['/usr/local/sbin/ltsp-server-ready'];

export function initContainerSpec(init: ServerInit, runId: string): InitContainerSpec {
  // Both inits expect /run (and /run/lock) to be a fresh tmpfs at boot, and mount it themselves
  // when it is not, which takes CAP_SYS_ADMIN; so Docker mounts them.
  const tmpfs = { '/run': 'rw,nosuid,nodev,mode=755', '/run/lock': 'rw,nosuid,nodev,noexec,mode=1777' };
  switch (init) {
    case 'entrypoint':
      return { env: { LAB_SERVER_INIT: init }, capAdd: [], tmpfs: {}, binds: [] };
    case 'systemd': {
      const parent = serverCgroupParent(runId);
      return {
        env: { LAB_SERVER_INIT: init },
        // None: systemd 252 runs without CAP_SYS_ADMIN when /run is mounted for it and its
        // own cgroup is writable (it then skips the mounts it cannot make).
        capAdd: [],
        tmpfs,
        // systemd's CONTAINER_INTERFACE.md (cgroup v1): the name=systemd hierarchy mounted in
        // full, since /proc/self/cgroup lists full paths, read-only except the container's own
        // sub-tree. Docker mounts only that sub-tree (read-only): systemd then fails with
        // "Failed to create /docker/<id>/init.scope control group". The writable sub-tree is a
        // per-run cgroup parent, whose path is known before the container's id is.
        // The controller hierarchies stay as Docker mounts them, read-only.
        // The unified (v2) hierarchy likewise: with only name=systemd, systemd in a container
        // learns of no emptied cgroup (v1's release agent is the host's), so stopping a unit
        // whose process forked others (nbd-server's one per client) waits out TimeoutStopSec:
        // `systemctl restart nbd-server` with a client connected hung past 30 s. In the hybrid
        // layout systemd watches cgroup.events there, and the restart takes milliseconds.
        binds: [SYSTEMD_CGROUP, UNIFIED_CGROUP].flatMap((h) => [
          { source: h, target: h, mode: 'ro' as const },
          { source: join(h, parent), target: join(h, parent), mode: 'rw' as const },
        ]),
        // systemd.1: SIGTERM to PID 1 reexecutes it; SIGRTMIN+3 halts (CONTAINER_INTERFACE.md).
        stopSignal: 'SIGRTMIN+3',
        cgroupParent: `/${parent}`,
        // The bind above needs the host's paths in /proc/self/cgroup: Docker 20.10's default
        // on cgroup v1, written out because the mounts depend on it.
        cgroupnsMode: 'host',
        readyCommand: READY,
      };
    }
    case 'sysvinit':
      return {
        env: { LAB_SERVER_INIT: init },
        // SYS_BOOT: runlevel 0 ends with halt(8), whose reboot(2) in a PID namespace ends only
        // that namespace's init (pid_namespaces(7)); without it halt fails with EPERM and init
        // sits in runlevel 0 until docker stop's timeout kills it.
        capAdd: ['SYS_BOOT'],
        tmpfs,
        binds: [],
        // sysvinit ignores SIGTERM; SIGINT is its Ctrl-Alt-Del (our inittab: telinit 0).
        stopSignal: 'SIGINT',
        readyCommand: READY,
      };
  }
}

/** Refuses an init this host cannot run in a container, before anything is created. */
export function checkHostSupports(init: ServerInit): void {
  if (init !== 'systemd') return;
  const missing = [SYSTEMD_CGROUP, UNIFIED_CGROUP].filter((h) => !existsSync(join(h, 'cgroup.procs')));
  if (missing.length > 0) {
    throw new SetupError(`--server-init systemd needs the host's hybrid cgroup layout (v1 name=systemd at ${SYSTEMD_CGROUP}, v2 at ${UNIFIED_CGROUP}), and this host has no ${missing.join(' and no ')}`, {
      hint: 'on a cgroup v2 host systemd needs a writable unified hierarchy instead, which the lab does not set up; use --server-init sysvinit or entrypoint',
    });
  }
}

/**
 * Removes a run's cgroup parent from every hierarchy once its container is gone (Docker
 * removes the container's own cgroup, not the parent it was given). Returns what it could
 * not remove (a cgroup with processes left in it).
 */
export function removeServerCgroups(runId: string): string[] {
  const left: string[] = [];
  for (const dir of serverCgroupDirs(runId)) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left.push(dir);
    }
  }
  return left;
}

/** The run's cgroup parent in each hierarchy where it exists. */
export function serverCgroupDirs(runId: string): string[] {
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return [];
  }
  return hierarchies.map((h) => join(CGROUP_ROOT, h, serverCgroupParent(runId))).filter((d) => existsSync(d));
}

/** Run id -> its cgroup parents, for every run that left one in some hierarchy. */
export function serverCgroupRuns(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let hierarchies: string[] = [];
  try {
    hierarchies = readdirSync(CGROUP_ROOT);
  } catch {
    return out;
  }
  for (const h of hierarchies) {
    let names: string[] = [];
    try {
      names = readdirSync(join(CGROUP_ROOT, h));
    } catch {
      continue;
    }
    for (const n of names) {
      const run = NETWORK_NAME.exec(n)?.[1];
      if (run) out.set(run, [...(out.get(run) ?? []), join(CGROUP_ROOT, h, n)]);
    }
  }
  return out;
}

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Deadline } from './deadline';
import { execCommand } from './exec';
import { log } from './log';
import { removeServerCgroups, serverCgroupRuns } from '../server/server-init';
import { reapHostGuards } from '../network/host-guard';
import { ARTEFACT_LABEL, LAB_LABEL, NEW_STATE_PREFIX, OWNER_LABEL, RUN_LABEL, isRunId, ownerAlive, processStartTime, stateRoot } from './run-context';

const debug = log('reaper');

export interface ReapReport {
  containers: string[];
  /** cgroup parents of dead runs' systemd servers (--server-init systemd), one per hierarchy. */
  cgroups: string[];
  networks: string[];
  rules: number;
  /** Loss rules a dead run's faults left on the bridge (harness/fault), counted apart from the bridge rule. */
  faultRules: number;
  taps: string[];
  qemu: number[];
  stateDirs: string[];
  /** Temp folders of dead image builds in the cache. */
  buildTemps: string[];
  /** Runs left alone because their owner still lives. */
  liveRuns: string[];
}

export interface ReapOptions {
  deadline: Deadline;
  /** Reap live runs too (never the caller's own). */
  all?: boolean;
  /** Never reap this run (the caller's). */
  except?: string;
  /** The image cache, whose temp folders of dead builds go too. */
  cache?: string;
}

/** build.sh names its containers ltsp-lab-build-<artefact>-<its pid>. */
const BUILD_CONTAINER = /^ltsp-lab-build-[a-z-]+-(\d+)$/;

/**
 * A build container no run label vouches for (a direct build.sh call) is an orphan once
 * the build.sh whose pid its name carries is gone. Only build.sh's named containers: a
 * live `docker build` step's container inherits the artefact label from its base image.
 */
export function orphanBuildContainer(name: string): boolean {
  const pid = BUILD_CONTAINER.exec(name)?.[1];
  if (pid === undefined) return false;
  try {
    return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('build.sh');
  } catch {
    return true;
  }
}

/** Owner of each run that has a state folder: run id → "pid:starttime". */
function stateOwners(): Map<string, string> {
  const out = new Map<string, string>();
  let entries: string[] = [];
  try {
    entries = readdirSync(stateRoot());
  } catch {
    return out;
  }
  for (const id of entries) {
    // Only run folders: the state root also keeps host-wide files (the accelerator verdict).
    if (!isRunId(id)) continue;
    try {
      out.set(id, readFileSync(join(stateRoot(), id, 'owner'), 'utf8').trim());
    } catch {
      out.set(id, '');
    }
  }
  return out;
}

/**
 * Reaps what runs whose owner process is dead left behind (Ryuk's job, done here by
 * label and name since Ryuk cannot be pulled): QEMU process groups, containers,
 * networks with their iptables rule and taps, state folders. A run whose owner lives
 * is left alone, so two labs can run side by side.
 */
export async function reap(opts: ReapOptions): Promise<ReapReport> {
  const { deadline } = opts;
  const report: ReapReport = { containers: [], cgroups: [], networks: [], rules: 0, faultRules: 0, taps: [], qemu: [], stateDirs: [], buildTemps: [], liveRuns: [] };
  const owners = stateOwners();
  const doomed = (run: string, owner: string | undefined): boolean => {
    if (!run || run === opts.except) return false;
    if (opts.all) return true;
    const alive = owner ? ownerAlive(owner) : false;
    if (alive && !report.liveRuns.includes(run)) report.liveRuns.push(run);
    return !alive;
  };

  // 1. QEMU first, so nothing holds the taps.
  for (const [run, owner] of owners) {
    if (!doomed(run, owner)) continue;
    const dir = join(stateRoot(), run);
    for (const client of safeReaddir(dir)) {
      for (const f of safeReaddir(join(dir, client)).filter((n) => n.endsWith('.pid'))) {
        const pid = Number(readFileSync(join(dir, client, f), 'utf8').trim());
        if (!Number.isInteger(pid) || pid <= 1) continue;
        // Only a process whose command line points into this run's state folder.
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (!cmdline.includes(dir)) continue;
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
        report.qemu.push(pid);
      }
    }
  }

  // 2. Containers.
  const cs = await execCommand('docker', ['ps', '-a', '--filter', `label=${LAB_LABEL}`, '--format', `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}}`], { deadline, allowFailure: true });
  for (const line of cs.stdout.split('\n').filter(Boolean)) {
    const [id, run, owner] = line.split(' ');
    if (id && doomed(run ?? '', owner)) {
      await execCommand('docker', ['rm', '-f', '-v', id], { deadline, allowFailure: true });
      report.containers.push(id);
    }
  }

  // Build containers without a run label (a direct build.sh call, an older build).
  const bs = await execCommand('docker', ['ps', '-a', '--filter', `label=${ARTEFACT_LABEL}`, '--format', `{{.ID}} {{.Names}} {{.Label "${RUN_LABEL}"}}`], { deadline, allowFailure: true });
  for (const line of bs.stdout.split('\n').filter(Boolean)) {
    const [id, name, run] = line.split(' ');
    if (id && !run && orphanBuildContainer(name ?? '')) {
      await execCommand('docker', ['rm', '-f', '-v', id], { deadline, allowFailure: true });
      report.containers.push(id);
    }
  }
  if (opts.cache) report.buildTemps = await reapBuildTemps(opts.cache, deadline);

  // A systemd server's cgroup parent, which Docker leaves once the container is gone.
  for (const [run, dirs] of serverCgroupRuns()) {
    if (!doomed(run, owners.get(run))) continue;
    const left = removeServerCgroups(run);
    report.cgroups.push(...dirs.filter((d) => !left.includes(d)));
  }

  // 3. Networks, their iptables rule and taps.
  const ns = await execCommand('docker', ['network', 'ls', '--filter', `label=${LAB_LABEL}`, '--format', `{{.Name}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}}`], { deadline, allowFailure: true });
  const deadRuns = new Set<string>();
  for (const line of ns.stdout.split('\n').filter(Boolean)) {
    const [name, run, owner] = line.split(' ');
    if (name && run && doomed(run, owner)) {
      deadRuns.add(run);
      await removeTaps(run, report, deadline);
      await removeRules(run, report, deadline);
      await execCommand('docker', ['network', 'rm', name], { deadline, allowFailure: true });
      report.networks.push(name);
    }
  }
  // Taps and rules of runs whose network is already gone.
  const links = await execCommand('ip', ['-o', 'link', 'show'], { deadline, allowFailure: true });
  for (const m of links.stdout.matchAll(/^\d+: ltt([a-z0-9]{6})c\d+[:@]/gm)) {
    const run = m[1] as string;
    if (!deadRuns.has(run) && doomed(run, owners.get(run))) {
      deadRuns.add(run);
      await removeTaps(run, report, deadline);
    }
  }
  const rules = await execCommand('iptables', ['-S', 'DOCKER-USER'], { deadline, allowFailure: true });
  for (const m of rules.stdout.matchAll(/--comment "?ltsp-lab:([a-z0-9]{6})"?/g)) {
    const run = m[1] as string;
    if (doomed(run, owners.get(run))) await removeRules(run, report, deadline);
  }
  report.rules += await reapHostGuards((run) => doomed(run, owners.get(run)), deadline);

  // 4. State folders of dead runs, and any a dead run was still registering.
  for (const [run, owner] of owners) {
    if (doomed(run, owner)) {
      rmSync(join(stateRoot(), run), { recursive: true, force: true });
      report.stateDirs.push(run);
    }
  }
  for (const name of safeReaddir(stateRoot()).filter((n) => n.startsWith(NEW_STATE_PREFIX))) {
    const pid = Number(name.split('-').pop());
    if (Number.isInteger(pid) && pid > 0 && processStartTime(pid) !== null) continue;
    rmSync(join(stateRoot(), name), { recursive: true, force: true });
    report.stateDirs.push(name);
  }
  debug('reaped %o', report);
  return report;
}

/**
 * The cache's temp folders (.tmp-*), when no build holds the cache lock: a live build
 * holds it from start to end (build.sh), so they are all dead builds'.
 */
async function reapBuildTemps(cache: string, deadline: Deadline): Promise<string[]> {
  const temps = safeReaddir(cache).filter((n) => n.startsWith('.tmp-'));
  if (temps.length === 0) return [];
  const busy = 75;
  const r = await execCommand('flock', ['-n', '-E', String(busy), join(cache, '.lock'), 'rm', '-rf', '--', ...temps.map((t) => join(cache, t))], { deadline, allowFailure: true });
  if (r.code === busy) {
    debug('a build holds %s: its temp folders stay', cache);
    return [];
  }
  return temps.filter((t) => !existsSync(join(cache, t)));
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function removeTaps(run: string, report: ReapReport, deadline: Deadline): Promise<void> {
  const links = await execCommand('ip', ['-o', 'link', 'show'], { deadline, allowFailure: true });
  for (const m of links.stdout.matchAll(new RegExp(`^\\d+: (ltt${run}c\\d+)[:@]`, 'gm'))) {
    const tap = m[1] as string;
    await execCommand('ip', ['link', 'del', 'dev', tap], { deadline, allowFailure: true });
    report.taps.push(tap);
  }
}

async function removeRules(run: string, report: ReapReport, deadline: Deadline): Promise<void> {
  const rules = await execCommand('iptables', ['-S', 'DOCKER-USER'], { deadline, allowFailure: true });
  for (const line of rules.stdout.split('\n')) {
    if (!line.startsWith('-A DOCKER-USER') || !line.includes(`ltsp-lab:${run}`)) continue;
    const spec = line.replace(/^-A /, '-D ').match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    await execCommand('iptables', spec.map((w) => w.replace(/^"(.*)"$/, '$1')), { deadline, allowFailure: true });
    if (line.includes(`ltsp-lab:${run}:loss:`)) report.faultRules++;
    else report.rules++;
  }
}

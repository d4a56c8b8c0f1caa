import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Deadline } from '../common/deadline';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { removeServerCgroups, serverCgroupRuns } from '../server/server-init';
import { reapHostGuards } from '../network/host-guard';
import { ARTEFACT_LABEL, LAB_LABEL, OWNER_LABEL, RUN_LABEL } from '../common/run-context';
import { checkStateRoot, ownerAlive, processStartTime, RUN_MARKER } from '../common/state-root';
import { removeIfEmpty } from '../common/writable-dir';
import { lossComment, ruleCommentPattern, tapLinkPattern } from '../common/resource-names';

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
  /** Runs with taps, rules or cgroups but no owner known (another state root's run between its steps): left alone. */
  unknownRuns: string[];
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

/** The iptables chains the lab puts rules in, each commented `ltsp-lab:<run>[:…]`; the reaper looks in each. */
export const RULE_CHAINS: readonly string[] = ['DOCKER-USER'];

/** Where the reaper learnt a run's owner, best first: taps and rules go with the network. */
const SOURCES = ['network', 'container', 'state folder'] as const;
export type OwnerSource = (typeof SOURCES)[number];

/**
 * What the reaper knows of each run's owner ("pid:starttime"): the labels of its network
 * and containers, and the owner file of its run folder in this state root. A tap or rule
 * carries no owner of its own: it is judged by its network's label, else by what else
 * of its run says who owns it, and left alone when nothing does (another state root's
 * run, whose network is not made yet or already gone).
 */
export class RunOwners {
  private readonly byRun = new Map<string, { owner: string; from: OwnerSource }>();

  note(run: string, owner: string | undefined, from: OwnerSource): this {
    if (!run || owner === undefined) return this;
    const had = this.byRun.get(run);
    if (!had || SOURCES.indexOf(from) < SOURCES.indexOf(had.from)) this.byRun.set(run, { owner, from });
    return this;
  }

  owner(run: string): string | undefined {
    return this.byRun.get(run)?.owner;
  }
}

/** What becomes of one run's things: reaped, left (its owner lives, or it is the caller's), or left as nobody's known. */
export type Fate = 'reap' | 'live' | 'own' | 'unknown';

/**
 * A run's fate by its owner: dead owners' runs are reaped, live ones left; with no owner
 * known, left alone (`--all` reaps every run but the caller's, known or not).
 */
export function fateOf(run: string, owner: string | undefined, opts: Pick<ReapOptions, 'all' | 'except'>): Fate {
  if (run === opts.except) return 'own';
  if (opts.all) return 'reap';
  if (owner === undefined) return 'unknown';
  return ownerAlive(owner) ? 'live' : 'reap';
}

/**
 * Reaps what runs whose owner process is dead left behind (Ryuk's job, done here by
 * label and name since Ryuk cannot be pulled): QEMU process groups, containers,
 * networks with their iptables rules and taps, state folders. A run whose owner lives
 * is left alone, so two labs can run side by side, each with its own state root or
 * not. The state root is checked first (checkStateRoot): one that holds anything the
 * lab did not make is refused (SetupError) before anything is removed, and only marked
 * run folders (RUN_MARKER) are ever taken for runs.
 */
export async function reap(opts: ReapOptions): Promise<ReapReport> {
  const { deadline } = opts;
  const scan = checkStateRoot();
  const root = scan.root;
  const report: ReapReport = { containers: [], cgroups: [], networks: [], rules: 0, faultRules: 0, taps: [], qemu: [], stateDirs: [], buildTemps: [], liveRuns: [], unknownRuns: [] };
  const owners = new RunOwners();
  for (const [run, owner] of scan.runs) owners.note(run, owner ?? '', 'state folder');
  const doomed = (run: string, owner: string | undefined): boolean => {
    if (!run) return false;
    const fate = fateOf(run, owner, opts);
    if (fate === 'live' && !report.liveRuns.includes(run)) report.liveRuns.push(run);
    if (fate === 'unknown' && !report.unknownRuns.includes(run)) report.unknownRuns.push(run);
    return fate === 'reap';
  };

  // 1. QEMU first, so nothing holds the taps: only of this root's marked run folders.
  for (const [run, owner] of scan.runs) {
    if (!doomed(run, owner ?? '')) continue;
    const dir = join(root, run);
    for (const client of safeReaddir(dir)) {
      for (const f of safeReaddir(join(dir, client)).filter((n) => n.endsWith('.pid'))) {
        let pid = NaN;
        try {
          pid = Number(readFileSync(join(dir, client, f), 'utf8').trim());
        } catch {
          continue;
        }
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

  // 2. Containers, judged by their own owner label.
  const cs = await execCommand('docker', ['ps', '-a', '--filter', `label=${LAB_LABEL}`, '--format', `{{.ID}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}}`], { deadline, allowFailure: true });
  const ns = await execCommand('docker', ['network', 'ls', '--filter', `label=${LAB_LABEL}`, '--format', `{{.Name}} {{.Label "${RUN_LABEL}"}} {{.Label "${OWNER_LABEL}"}}`], { deadline, allowFailure: true });
  const containers = labelled(cs.stdout);
  const networks = labelled(ns.stdout);
  for (const c of containers) owners.note(c.run, c.owner, 'container');
  for (const n of networks) owners.note(n.run, n.owner, 'network');
  for (const { name: id, run, owner } of containers) {
    if (doomed(run, owner)) {
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
    if (!doomed(run, owners.owner(run))) continue;
    const left = removeServerCgroups(run);
    report.cgroups.push(...dirs.filter((d) => !left.includes(d)));
  }

  // 3. Networks, by their owner label, with their iptables rules and taps.
  const done = new Set<string>();
  for (const { name, run, owner } of networks) {
    if (run && doomed(run, owner)) {
      done.add(run);
      await removeTaps(run, report, deadline);
      for (const chain of RULE_CHAINS) await removeRules(run, chain, report, deadline);
      await execCommand('docker', ['network', 'rm', name], { deadline, allowFailure: true });
      report.networks.push(name);
    }
  }
  // Taps and rules with no network of a dead run: judged by their network's owner (a
  // live run's network), else by what else of the run is known; unknown stays.
  const links = await execCommand('ip', ['-o', 'link', 'show'], { deadline, allowFailure: true });
  for (const m of links.stdout.matchAll(tapLinkPattern())) {
    const run = m[2] as string;
    if (!done.has(run) && doomed(run, owners.owner(run))) {
      done.add(run);
      await removeTaps(run, report, deadline);
    }
  }
  for (const chain of RULE_CHAINS) {
    const rules = await execCommand('iptables', ['-S', chain], { deadline, allowFailure: true });
    const runs = new Set([...rules.stdout.matchAll(ruleCommentPattern(undefined, 'g'))].map((m) => m[1] as string));
    for (const run of runs) if (doomed(run, owners.owner(run))) await removeRules(run, chain, report, deadline);
  }
  report.rules += await reapHostGuards((run) => doomed(run, owners.owner(run)), deadline);

  // 4. This root's marked run folders of dead runs, and any a dead run was still registering.
  for (const [run, owner] of scan.runs) {
    if (doomed(run, owner ?? '')) {
      rmSync(join(root, run), { recursive: true, force: true });
      report.stateDirs.push(run);
    }
  }
  for (const [name, pid] of scan.pending) {
    if (processStartTime(pid) !== null) continue;
    const dir = join(root, name);
    // Unmarked, it is empty (scanStateRoot): rmdir, which removes nothing else.
    if (existsSync(join(dir, RUN_MARKER))) rmSync(dir, { recursive: true, force: true });
    else removeIfEmpty(dir);
    report.stateDirs.push(name);
  }
  debug('reaped %o', report);
  return report;
}

/** `docker … --format '{{.Name or .ID}} {{run label}} {{owner label}}'` lines. */
function labelled(stdout: string): { name: string; run: string; owner: string }[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', run = '', owner = ''] = line.split(' ');
      return { name, run, owner };
    })
    .filter((x) => x.name);
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
  for (const m of links.stdout.matchAll(tapLinkPattern(run))) {
    const tap = m[1] as string;
    await execCommand('ip', ['link', 'del', 'dev', tap], { deadline, allowFailure: true });
    report.taps.push(tap);
  }
}

async function removeRules(run: string, chain: string, report: ReapReport, deadline: Deadline): Promise<void> {
  const rules = await execCommand('iptables', ['-S', chain], { deadline, allowFailure: true });
  for (const line of rules.stdout.split('\n')) {
    if (!line.startsWith(`-A ${chain} `) || !ruleCommentPattern(run).test(line)) continue;
    const spec = line.replace(/^-A /, '-D ').match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
    await execCommand('iptables', spec.map((w) => w.replace(/^"(.*)"$/, '$1')), { deadline, allowFailure: true });
    if (line.includes(lossComment(run, ''))) report.faultRules++;
    else report.rules++;
  }
}

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Deadline } from './deadline';
import { execCommand } from './exec';
import { log } from './log';
import { LAB_LABEL, OWNER_LABEL, RUN_LABEL, ownerAlive, stateRoot } from './run-context';

const debug = log('reaper');

export interface ReapReport {
  containers: string[];
  networks: string[];
  rules: number;
  taps: string[];
  qemu: number[];
  stateDirs: string[];
  /** Runs left alone because their owner still lives. */
  liveRuns: string[];
}

export interface ReapOptions {
  deadline: Deadline;
  /** Reap live runs too (never the caller's own). */
  all?: boolean;
  /** Never reap this run (the caller's). */
  except?: string;
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
  const report: ReapReport = { containers: [], networks: [], rules: 0, taps: [], qemu: [], stateDirs: [], liveRuns: [] };
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

  // 4. State folders of dead runs.
  for (const [run, owner] of owners) {
    if (doomed(run, owner)) {
      rmSync(join(stateRoot(), run), { recursive: true, force: true });
      report.stateDirs.push(run);
    }
  }
  debug('reaped %o', report);
  return report;
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
    report.rules++;
  }
}

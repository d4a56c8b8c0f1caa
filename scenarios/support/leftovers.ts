import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deadline, execCommand, hostGuardLeftovers, RUN_LABEL, stateRoot, hostBudgetMs } from '../../harness/index';

export interface Leftovers {
  containers: number;
  networks: number;
  bridges: number;
  taps: number;
  qemu: number;
  rules: number;
  /** The rules that close the host to the lab bridge (INPUT, v4 and v6; raw OUTPUT; ip6tables FORWARD). */
  guardRules: number;
  mounts: number;
  stateDir: number;
}

/** Processes whose command line names this run's state folder (its QEMU clients). */
function runProcesses(runId: string, root: string): number[] {
  const marker = join(root, runId) + '/';
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

/** Everything a run could have left on this machine, counted by its run id (its state folder under `root`). */
export async function leftovers(runId: string, root: string = stateRoot()): Promise<Leftovers> {
  const d = Deadline.after(hostBudgetMs('hostCommand'), `count leftovers of run ${runId}`);
  const lines = (s: string): number => s.split('\n').filter((l) => l.trim()).length;
  const links = (await execCommand('ip', ['-o', 'link', 'show'], { deadline: d })).stdout;
  return {
    containers: lines((await execCommand('docker', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${runId}`], { deadline: d })).stdout),
    networks: lines((await execCommand('docker', ['network', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${runId}`], { deadline: d })).stdout),
    bridges: (links.match(new RegExp(`^\\d+: ltl${runId}[:@]`, 'gm')) ?? []).length,
    taps: (links.match(new RegExp(`^\\d+: ltt${runId}c\\d+[:@]`, 'gm')) ?? []).length,
    qemu: runProcesses(runId, root).length,
    rules: lines((await execCommand('iptables', ['-S', 'DOCKER-USER'], { deadline: d })).stdout.split('\n').filter((l) => l.includes(`ltsp-lab:${runId}`)).join('\n')),
    guardRules: (await hostGuardLeftovers(runId, d)).length,
    mounts: readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(runId)).length,
    stateDir: existsSync(join(root, runId)) ? 1 : 0,
  };
}

export const NOTHING: Leftovers = { containers: 0, networks: 0, bridges: 0, taps: 0, qemu: 0, rules: 0, guardRules: 0, mounts: 0, stateDir: 0 };

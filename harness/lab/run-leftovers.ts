import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deadline } from '../common/deadline';
import { execCommand } from '../common/exec';
import { serverCgroupDirs } from '../server/server-init';
import { RULE_CHAINS } from './reaper';
import { hostGuardLeftovers } from '../network/host-guard';
import { RUN_LABEL, stateRoot, type RunContext } from '../common/run-context';
import { bridgeName, bridgeVethPattern, ruleCommentPattern, runLinkPattern } from '../common/resource-names';

/**
 * What of a run is still on this machine after its teardown, one line per thing
 * ("container 3f2a…", "bridge ltlabc123"); empty when nothing is. Counted, not assumed:
 * a teardown that could not reach Docker says "nothing left" only if this says so.
 * QEMU is found by its command line, which names the run's state folder (QEMU renames
 * its process, so its name proves nothing).
 */
export async function runLeftovers(run: RunContext, deadline: Deadline): Promise<string[]> {
  const out: string[] = [];
  const marker = join(stateRoot(), run.id) + '/';
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(marker)) out.push(`process ${p} (QEMU)`);
    } catch {
      /* gone */
    }
  }
  for (const [what, args] of [
    ['container', ['ps', '-aq', '--filter', `label=${RUN_LABEL}=${run.id}`]],
    ['network', ['network', 'ls', '-q', '--filter', `label=${RUN_LABEL}=${run.id}`]],
  ] as const) {
    const r = await execCommand('docker', args, { deadline, allowFailure: true });
    if (r.code !== 0) out.push(`${what}s: unknown, Docker does not answer`);
    else out.push(...r.stdout.split('\n').filter(Boolean).map((id) => `${what} ${id}`));
  }
  const links = await execCommand('ip', ['-o', 'link', 'show'], { deadline, allowFailure: true });
  for (const m of links.stdout.matchAll(runLinkPattern(run.id))) {
    out.push(`${m[1] === bridgeName(run.id) ? 'bridge' : 'tap'} ${m[1]}`);
  }
  // The server container's end of its veth pair, still on the bridge while the container lives.
  for (const m of links.stdout.matchAll(bridgeVethPattern(run.id))) out.push(`veth ${m[1]}`);
  for (const chain of RULE_CHAINS) {
    const rules = await execCommand('iptables', ['-S', chain], { deadline, allowFailure: true });
    out.push(...rules.stdout.split('\n').filter((l) => l.startsWith('-A ') && ruleCommentPattern(run.id).test(l)).map((l) => `iptables rule ${l}`));
  }
  out.push(...(await hostGuardLeftovers(run.id, deadline)));
  out.push(...serverCgroupDirs(run.id).map((d) => `cgroup ${d}`));
  if (existsSync(run.stateDir)) out.push(`state folder ${run.stateDir}`);
  return out;
}

/** "nothing left running", or what is left and who reaps it. */
export function describeLeftovers(left: readonly string[]): string {
  if (left.length === 0) return 'nothing left running';
  const dockerGone = left.some((l) => l.includes('Docker does not answer'));
  return `left behind: ${left.join(', ')}; ./lab clean reaps it${dockerGone ? ' once Docker answers again (./lab setup starts it)' : ''}`;
}

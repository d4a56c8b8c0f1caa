/**
 * The names the lab gives what it makes on the host, and the patterns that find them
 * again: the one place both are written, so a name and the reaper's pattern for it
 * cannot drift apart. Every name carries the run id (see RunContext), so a later run can
 * tell a crashed run's leftovers from a live run's.
 */

/** A run id: 6 base-36 characters, short enough for 15-character interface names (ltl<id>, ltt<id>c<n>). */
const RUN_ID = '[a-z0-9]{6}';

export function isRunId(s: string): boolean {
  return new RegExp(`^${RUN_ID}$`).test(s);
}

/** A run's Linux bridge (its Docker network's). */
export function bridgeName(run: string): string {
  return `ltl${run}`;
}

/** A run's tap for client `index` (a pattern's `\\d+` in the patterns below). */
export function tapName(run: string, index: number | string): string {
  return `ltt${run}c${index}`;
}

/** A run's Docker network, and the server cgroup named after it. */
export function networkName(run: string): string {
  return `ltsp-lab-${run}`;
}

/** The iptables comment of a run's rules; the guard's and a fault's add ':host' and ':loss:<tap>'. */
export function ruleComment(run: string): string {
  return `ltsp-lab:${run}`;
}

export function hostGuardComment(run: string): string {
  return `${ruleComment(run)}:host`;
}

export function lossComment(run: string, tap: string): string {
  return `${ruleComment(run)}:loss:${tap}`;
}

/** `ip -o link show` lines of taps, of `run` or of any run; group 1 the tap, group 2 its run. */
export function tapLinkPattern(run?: string): RegExp {
  return new RegExp(`^\\d+: (${tapName(`(${run ?? RUN_ID})`, '\\d+')})[:@]`, 'gm');
}

/** `ip -o link show` lines of a run's bridge and its taps; group 1 the name. */
export function runLinkPattern(run: string): RegExp {
  return new RegExp(`^\\d+: (${bridgeName(run)}|${tapName(run, '\\d+')})[:@]`, 'gm');
}

/** `ip -o link show` lines of veths on a run's bridge; group 1 the veth. */
export function bridgeVethPattern(run: string): RegExp {
  return new RegExp(`^\\d+: (veth[^@:]+)[@:].* master ${bridgeName(run)} `, 'gm');
}

/** An iptables `-S` line's comment of `run` (any of its rules), or of any run; group 1 the run. */
export function ruleCommentPattern(run?: string, flags = ''): RegExp {
  return new RegExp(`--comment "?${ruleComment(`(${run ?? RUN_ID})`)}(?![a-z0-9])`, flags);
}

/** A guard rule's comment in `-S` output; group 1 the run. */
export const HOST_GUARD_COMMENT = new RegExp(`--comment "?${hostGuardComment(`(${RUN_ID})`)}"?(\\s|$)`);

/** A cgroup named after a run's network; group 1 the run. */
export const NETWORK_NAME = new RegExp(`^${networkName(`(${RUN_ID})`)}$`);

/** A folder `<prefix><run>-<pid>`; groups 1 and 2 the run and the pid. */
export function pendingPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(${RUN_ID})-(\\d+)$`);
}

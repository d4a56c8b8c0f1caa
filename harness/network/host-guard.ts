import { readFileSync } from 'node:fs';
import type { Deadline } from '../common/deadline';
import { isKnownError, SetupError } from '../common/errors';
import { execCommand } from '../common/exec';
import { log } from '../common/log';
import { hostGuardComment, HOST_GUARD_COMMENT } from '../common/resource-names';

const debug = log('network');

export type Netfilter = 'iptables' | 'ip6tables';

/** One netfilter rule of a run's host guard: where it goes, and its match and target. */
export interface GuardRule {
  cmd: Netfilter;
  table: 'filter' | 'raw';
  chain: 'INPUT' | 'OUTPUT' | 'FORWARD';
  spec: string[];
  /** What the rule is for, in an error that says it could not go in. */
  why: string;
}

/** The chains a guard rule can sit in: what the reaper and the leftover count look through. */
const GUARD_CHAINS: readonly Pick<GuardRule, 'cmd' | 'table' | 'chain'>[] = [
  { cmd: 'iptables', table: 'filter', chain: 'INPUT' },
  { cmd: 'iptables', table: 'raw', chain: 'OUTPUT' },
  { cmd: 'ip6tables', table: 'filter', chain: 'INPUT' },
  { cmd: 'ip6tables', table: 'filter', chain: 'FORWARD' },
];

/**
 * The comment every guard rule of a run carries: the run's `ltsp-lab:<run>` (the bridge
 * rule's, in DOCKER-USER) with ':host', so it is told from the bridge rule and a fault's.
 */
export { hostGuardComment };

/** The TFTP port: the host's own TFTP requests into the lab get their answers (see hostGuardRules). */
const TFTP_PORT = '69';

/**
 * The rules that close the host to its lab bridge. The bridge holds the host's address
 * in the lab (docker's gateway), and the host talks to the server from it (the NBD
 * export list at start-up, a scenario's TFTP and HTTP fetches). Without these, a client
 * reaches every service the host binds to 0.0.0.0 or [::], through the bridge address
 * or through any other host address it routes via the bridge.
 *
 * - INPUT, v4 and v6: from the bridge, only answers to what the host opened (conntrack
 *   ESTABLISHED, RELATED) come in, and IPv6 neighbour discovery (v4's ARP is not
 *   iptables' either); anything a client or the server opens is dropped.
 * - raw OUTPUT: the host's TFTP requests get the tftp conntrack helper, since the
 *   server answers a read request from a new port (RFC 1350), which conntrack would
 *   otherwise take for a new flow and the INPUT rule drop.
 * - ip6tables FORWARD: docker (20.10, no --ip6tables) isolates an --internal network
 *   for IPv4 only; with IPv6 forwarding on, a client that routes via the bridge's v6
 *   address would reach other labs and the host's other networks.
 */
export function hostGuardRules(bridge: string, runId: string, opts: { ipv6: boolean }): GuardRule[] {
  const comment = ['-m', 'comment', '--comment', hostGuardComment(runId)];
  const onlyAnswers = ['-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED'];
  const rules: GuardRule[] = [
    { cmd: 'iptables', table: 'filter', chain: 'INPUT', spec: ['-i', bridge, ...onlyAnswers, ...comment, '-j', 'DROP'], why: 'drop what the lab opens towards the host' },
    {
      cmd: 'iptables',
      table: 'raw',
      chain: 'OUTPUT',
      spec: ['-o', bridge, '-p', 'udp', '--dport', TFTP_PORT, ...comment, '-j', 'CT', '--helper', 'tftp'],
      why: "let the server's TFTP answers to the host in (the tftp conntrack helper)",
    },
  ];
  if (opts.ipv6) {
    const icmp6 = (type: string): string[] => ['-i', bridge, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', type, ...comment, '-j', 'ACCEPT'];
    rules.push(
      { cmd: 'ip6tables', table: 'filter', chain: 'INPUT', spec: ['-i', bridge, ...onlyAnswers, ...comment, '-j', 'DROP'], why: 'drop what the lab opens towards the host over IPv6' },
      // Neighbour discovery is IPv6's ARP (which iptables does not see either): conntrack
      // leaves it untracked, so the drop above would take it. Without it a v6 connect to
      // the host fails "unreachable" or hangs by the luck of the neighbour cache, and the
      // host could not talk v6 into the lab. Each rule goes in at the top, so these sit above the drop.
      { cmd: 'ip6tables', table: 'filter', chain: 'INPUT', spec: icmp6('neighbour-advertisement'), why: 'let neighbour advertisements to the host in' },
      { cmd: 'ip6tables', table: 'filter', chain: 'INPUT', spec: icmp6('neighbour-solicitation'), why: 'let neighbour solicitations to the host in' },
      { cmd: 'ip6tables', table: 'filter', chain: 'FORWARD', spec: ['-i', bridge, '!', '-o', bridge, ...comment, '-j', 'DROP'], why: 'drop IPv6 the lab sends through the host' },
    );
  }
  return rules;
}

/** argv of `op` on a rule: `-I` puts it first in its chain, ahead of any ACCEPT of the host's (and of the run's earlier rules). */
export function guardArgs(rule: GuardRule, op: '-I' | '-C' | '-D'): string[] {
  return ['-w', '-t', rule.table, op, rule.chain, ...(op === '-I' ? ['1'] : []), ...rule.spec];
}

/** Whether the bridge speaks IPv6 (its link-local address at least): then the guard needs ip6tables. */
export function bridgeHasIpv6(bridge: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, 'utf8').trim() === '0';
  } catch {
    return false;
  }
}

/**
 * Puts a run's guard rules in, and checks each is there; on any failure takes out what
 * went in (fail closed: a lab without its guard does not start). Returns the rules.
 */
export async function installHostGuard(bridge: string, runId: string, deadline: Deadline): Promise<GuardRule[]> {
  const rules = hostGuardRules(bridge, runId, { ipv6: bridgeHasIpv6(bridge) });
  const done: GuardRule[] = [];
  try {
    for (const rule of rules) {
      const r = await execCommand(rule.cmd, guardArgs(rule, '-I'), { deadline, allowFailure: true });
      if (r.code !== 0) {
        throw new SetupError(`the lab cannot close its bridge ${bridge} to the host: ${rule.cmd} -t ${rule.table} ${rule.chain} (${rule.why}) failed: ${r.stderr.trim()}`, {
          hint: 'the host needs iptables and ip6tables with the conntrack, comment and CT targets (nf_conntrack_tftp for the helper)',
        });
      }
      done.push(rule);
      await execCommand(rule.cmd, guardArgs(rule, '-C'), { deadline });
    }
  } catch (e) {
    await removeGuardRules(done, deadline);
    throw isKnownError(e) ? e : new SetupError(`the lab cannot close its bridge ${bridge} to the host: ${(e as Error).message}`, { cause: e });
  }
  debug('host guard on %s: %d rule(s)', bridge, rules.length);
  return rules;
}

/** Takes rules out by their exact spec (never by number: another run may insert meanwhile). Idempotent. */
export async function removeGuardRules(rules: readonly GuardRule[], deadline: Deadline): Promise<void> {
  for (const rule of rules) {
    // -D removes one copy; loop in case the rule went in twice.
    for (let i = 0; i < 4; i++) {
      const r = await execCommand(rule.cmd, guardArgs(rule, '-D'), { deadline, allowFailure: true });
      if (r.code !== 0) break;
    }
  }
}

/** A guard rule as `-S` lists it, turned back into the argv that deletes it; undefined for other lines. */
export function deleteArgsOf(line: string, table: string): { run: string; args: string[] } | undefined {
  const run = HOST_GUARD_COMMENT.exec(line)?.[1];
  if (run === undefined || !line.startsWith('-A ')) return undefined;
  const words = line.replace(/^-A /, '-D ').match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  return { run, args: ['-w', '-t', table, ...words.map((w) => w.replace(/^"(.*)"$/, '$1'))] };
}

/** The guard rules on this machine, with the run each belongs to, as `-S` lines. */
async function listGuardRules(deadline: Deadline): Promise<{ cmd: Netfilter; table: string; line: string; run: string; args: string[] }[]> {
  const out: { cmd: Netfilter; table: string; line: string; run: string; args: string[] }[] = [];
  for (const { cmd, table, chain } of GUARD_CHAINS) {
    // A host without ip6tables has no v6 rules to find.
    const r = await execCommand(cmd, ['-w', '-t', table, '-S', chain], { deadline, allowFailure: true }).catch(() => undefined);
    for (const line of r?.code === 0 ? r.stdout.split('\n') : []) {
      const del = deleteArgsOf(line, table);
      if (del) out.push({ cmd, table, line, ...del });
    }
  }
  return out;
}

/** What of a run's guard is still on the machine, one "iptables rule …" line each (harness/lab/run-leftovers). */
export async function hostGuardLeftovers(runId: string, deadline: Deadline): Promise<string[]> {
  return (await listGuardRules(deadline)).filter((r) => r.run === runId).map((r) => `${r.cmd} rule -t ${r.table} ${r.line}`);
}

/** Removes the guard rules of every run `doomed` names (the reaper's); returns how many went. */
export async function reapHostGuards(doomed: (run: string) => boolean, deadline: Deadline): Promise<number> {
  let n = 0;
  for (const rule of await listGuardRules(deadline)) {
    if (!doomed(rule.run)) continue;
    const r = await execCommand(rule.cmd, rule.args, { deadline, allowFailure: true });
    if (r.code === 0) n++;
  }
  return n;
}

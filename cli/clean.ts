import { budgetMs, cacheDir, Deadline, reap } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

export const CLEAN_COMMAND: CommandSpec = {
  name: './lab clean',
  description: `Reaps what dead runs left behind: QEMU process groups, containers (a dead image build's too), networks with their bridge, taps and iptables rules (a fault's loss rules too), state folders, and the temp folders of dead image builds in the cache. Runs whose owner still lives are left alone, whichever state folder they use: a tap or rule goes with its network's owner, and one whose owner nothing says is left alone. Only what the lab made is removed: a run folder carries the lab's marker (ltsp-lab-run), and a state folder ($LTSP_LAB_STATE) that holds anything else is refused (exit 3) before anything is removed.`,
  options: { all: { kind: 'flag', help: "reap live runs too (never the caller's own)" } },
};

/** ./lab clean [--all]: reap what dead runs left behind (--all: live runs too). */
export async function clean(argv: string[]): Promise<number> {
  const o = parseCommand(argv, CLEAN_COMMAND).options;
  const r = await reap({ deadline: Deadline.after(budgetMs('reap'), 'lab clean'), all: o.has('all'), cache: cacheDir() });
  const parts = [
    `${r.qemu.length} QEMU process group(s)`,
    `${r.containers.length} container(s)`,
    `${r.cgroups.length} cgroup(s)`,
    `${r.networks.length} network(s)`,
    `${r.taps.length} tap(s)`,
    `${r.rules} iptables rule(s)`,
    `${r.faultRules} fault rule(s) (loss)`,
    `${r.stateDirs.length} state folder(s)`,
    `${r.buildTemps.length} temp folder(s) of dead image builds`,
  ];
  process.stdout.write(`lab clean: removed ${parts.join(', ')}\n`);
  if (r.liveRuns.length > 0) process.stdout.write(`lab clean: left alone the live run(s) ${r.liveRuns.join(', ')} (--all to reap them too)\n`);
  if (r.unknownRuns.length > 0) {
    process.stdout.write(`lab clean: left alone the taps or rules of run(s) ${r.unknownRuns.join(', ')}: no network, container or state folder here says whose they are (another state folder's run, or --all to reap them)\n`);
  }
  return 0;
}

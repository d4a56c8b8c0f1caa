import { budgetMs, cacheDir, Deadline, reap } from '../harness/index';
import { parseOptions } from './args';

/** ./lab clean [--all]: reap what dead runs left behind (--all: live runs too). */
export async function clean(argv: string[]): Promise<number> {
  const o = parseOptions(argv, { all: 'flag' });
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

import { installSignalTeardown } from '../harness/index';
import { attach } from './attach';
import { boot } from './boot';
import { clean } from './clean';
import { bench } from './bench';
import { build } from './build';
import { ls } from './ls';
import { stop } from './stop';
import { usageOf } from './usage';
import { failWith } from './fail';
import { runLabProgram, type LabCommand } from './program';
import { report } from './report';
import { accel } from './accel';
import { baseline } from './baseline';
import { bisect } from './bisect';
import { storm } from './storm';
import { matrix } from './matrix';

const COMMANDS: Record<string, LabCommand> = {
  boot: { summary: 'build or reuse the images, PXE-boot thin clients, print the boot timeline (--keep: leave the lab up, passed or failed)', usage: () => usageOf('boot'), run: boot },
  ls: { summary: 'the runs on this machine: age, clients with their stage and lease, report folder', usage: () => usageOf('ls'), run: ls },
  attach: { summary: "this terminal on a kept client's serial console (Ctrl-] q detaches)", usage: () => usageOf('attach'), run: attach },
  stop: { summary: 'tear a kept run down through its owner, and say what is left', usage: () => usageOf('stop'), run: stop },
  test: { summary: 'type-check, lint, unit tests and the end-to-end scenarios, in two lanes at once (--grep PATTERN, --shard I/N; JUnit in reports/)', usage: () => usageOf('test') },
  bench: { summary: 'boot benchmarks: the lab against bare QEMU, concurrency, images, memory, the gate', usage: () => usageOf('bench'), run: bench },
  baseline: { summary: 'the boot-time baselines ./lab boot --compare judges against (--update records)', usage: () => usageOf('baseline'), run: baseline },
  report: { summary: "a run's boot timeline and the path of its page (--against OTHER: per-stage diff; --merge DIR...: shards as one report)", usage: () => usageOf('report'), run: report },
  bisect: { summary: 'the first commit of vm-images/ that broke or slowed the boot: builds and boots revisions, names it', usage: () => usageOf('bisect'), run: bisect },
  storm: { summary: 'a classroom booting at once: N replayed NBD boots (and K real clients) against the real server; --record refreshes the trace', usage: () => usageOf('storm'), run: storm },
  matrix: { summary: 'the nbd grid: each nbd-server version against each nbd-client version, booted with nbd-restart (docs/nbd-grid.md)', usage: () => usageOf('matrix'), run: matrix },
  build: { summary: 'build or reuse the images only, and check the cache', usage: () => usageOf('build'), run: build },
  accel: { summary: 'which accelerator (KVM or TCG) the lab uses here, and why (a probe)', usage: () => usageOf('accel'), run: accel },
  clean: { summary: 'reap what a crashed run left behind (containers, networks, taps, QEMU)', usage: () => usageOf('clean'), run: clean },
  setup: { summary: 'install what is missing and start Docker, then stop', usage: () => usageOf('setup') },
};

async function main(): Promise<number> {
  installSignalTeardown();
  return runLabProgram(process.argv.slice(2), COMMANDS, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}

main().then((code) => process.exit(code), failWith);

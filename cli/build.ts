import { budgetMs, ensureImages, RunContext, stepDeadline, type Rebuildable } from '../harness/index';
import { parseCommand, type CommandSpec } from './args';

const REBUILDABLE: readonly Rebuildable[] = ['root', 'initramfs'];

export const BUILD_COMMAND: CommandSpec = {
  name: './lab build',
  description: `Builds or reuses every image the lab boots and serves (vm-images/build.sh), then checks the cache: the root image against its checksum, the initramfs's compressed stream, the kernel. A damaged artefact is rebuilt, with a line saying so. Prints the manifest.`,
  options: {
    rebuild: { kind: 'list', value: 'NAME', help: 'build this cached artefact afresh (root: the exported root image and kernel; initramfs: the dracut initramfs); may be given twice', choices: REBUILDABLE },
  },
};

/** ./lab build: build or reuse every image, check and heal the cache; prints the manifest. */
export async function build(argv: string[]): Promise<number> {
  const o = parseCommand(argv, BUILD_COMMAND).options;
  const rebuild = (o.get('rebuild') as string[] | undefined) ?? [];
  const t0 = performance.now();
  const m = await ensureImages({
    deadline: stepDeadline(budgetMs('imageBuild'), 'image build'),
    onProgress: (l) => process.stderr.write(`${l}\n`),
    rebuild: rebuild as Rebuildable[],
    run: new RunContext(),
  });
  process.stdout.write(JSON.stringify(m, null, 2) + '\n');
  process.stderr.write(`lab build: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

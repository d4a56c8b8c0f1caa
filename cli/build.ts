import { buildImages, stepDeadline } from '../harness/index';
import { parseOptions } from './args';

/** ./lab build: build or reuse every image; prints the manifest. */
export async function build(argv: string[]): Promise<number> {
  parseOptions(argv, {});
  const t0 = performance.now();
  const m = await buildImages({ deadline: stepDeadline(45 * 60_000, 'image build'), onProgress: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(JSON.stringify(m, null, 2) + '\n');
  process.stderr.write(`lab build: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}

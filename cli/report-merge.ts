import { basename, join, relative } from 'node:path';
import { readMergeInputs, REPORTS_ROOT, writeMergedReport, type RunResults } from '../harness/index';
import { parseMergeArgs } from './args';

/** YYYYmmdd-HHMMSS, as ./lab test names its runs. */
function stamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, '').replace(/[-:]/g, '').replace('T', '-');
}

function counts(r: RunResults): string {
  const n = (o: string): number => r.tests.filter((t) => t.outcome === o).length;
  return `${r.tests.length} tests: ${n('pass')} passed, ${n('fail')} failed, ${n('skipped')} skipped${n('interrupted') ? `, ${n('interrupted')} interrupted` : ''}`;
}

const shown = (dir: string): string => {
  const rel = relative(process.cwd(), dir);
  return rel.startsWith('..') ? dir : rel || '.';
};

/** ./lab report --merge DIR... [--out DIR]: the shards of one ./lab test run as one report. */
export async function reportMerge(argv: string[]): Promise<number> {
  const args = parseMergeArgs(argv);
  const inputs = readMergeInputs(args.dirs);
  const outDir = args.out ?? join(REPORTS_ROOT, `test-merged-${stamp()}`);
  const { written, results } = writeMergedReport(inputs, outDir, basename(outDir));
  const lines: string[] = [];
  for (const i of inputs) {
    const s = i.results.selection?.shard;
    lines.push(`${(s ? `shard ${s.index}/${s.count}` : 'run').padEnd(12)}${shown(i.dir)}: ${counts(i.results)}`);
  }
  lines.push(`${'merged'.padEnd(12)}${shown(outDir)}: ${counts(results)}`);
  for (const t of results.tests.filter((x) => x.outcome === 'fail' || x.outcome === 'interrupted')) {
    lines.push(`  ${t.outcome.toUpperCase()}${t.shard ? ` [shard ${t.shard.index}/${t.shard.count}]` : ''} ${t.title}${t.error ? `: ${t.error.class}: ${t.error.message}` : ''}`);
  }
  lines.push('', `report: ${shown(written.html)}  (results.json, junit.xml beside it; each ${inputs.some((i) => i.results.selection?.shard) ? 'shard' : 'part'}'s folder under it)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

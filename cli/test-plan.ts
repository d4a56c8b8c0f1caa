import { relative } from 'node:path';
import { durationsFile, e2eFiles, planSelection, planTestRun, readDurations, repoRoot, type TestPlan } from '../harness/index';
import { parseTestArgs } from './args';
import { failWith } from './fail';

/*
 * ./lab test's options, parsed and planned here so the script stays a runner: it reads
 * these lines on stdout (one fact a line, the key first) and runs what they say.
 *   checks yes|no     the type-check, lint and unit tests
 *   grep PATTERN      mocha --grep of the unit tests (the user's)
 *   e2egrep PATTERN   mocha --grep of the e2e files: the tier's tag and the user's --grep
 *   selection JSON    what results.json keeps of the plan (LTSP_LAB_TEST_SELECTION)
 *   file PATH         an e2e file of the guest lane (one line each)
 *   guestless-selection JSON, guestless PATH
 *                     the same of the guestless lane (harness/shard/lanes.ts), unsharded
 * What a person wants to know (the shard's share) goes to stderr.
 */

export function planLines(plan: TestPlan): string[] {
  return [
    `checks ${plan.checks ? 'yes' : 'no'}`,
    ...(plan.grep === undefined ? [] : [`grep ${plan.grep}`]),
    ...(plan.e2eGrep === undefined ? [] : [`e2egrep ${plan.e2eGrep}`]),
    `selection ${JSON.stringify(planSelection(plan))}`,
    ...plan.files.map((f) => `file ${f}`),
    ...(plan.guestless?.length ? [`guestless-selection ${JSON.stringify(planSelection(plan, 'guestless'))}`, ...plan.guestless.map((f) => `guestless ${f}`)] : []),
  ];
}

const min = (ms: number): string => `${(ms / 60_000).toFixed(1)} min`;

export function planSummary(plan: TestPlan): string[] {
  if (!plan.shard || !plan.shards) return [];
  const { index, count } = plan.shard;
  const mine = plan.shards[index - 1]!;
  const total = plan.shards.reduce((n, s) => n + s.files.length, 0);
  const out = [
    `shard ${index}/${count}: ${mine.files.length} of ${total} end-to-end files, expected ${min(mine.expectedMs)}${plan.checks ? ' with the checks and unit tests' : ''} (all shards: ${plan.shards.map((s) => min(s.expectedMs)).join(', ')}; from ${shownRecord()})`,
  ];
  if (plan.unrecorded?.length) out.push(`not in the record, weighed as its median file (${(plan.defaultMs! / 1000).toFixed(0)} s): ${plan.unrecorded.join(' ')}`);
  return out;
}

function main(argv: string[]): void {
  const args = parseTestArgs(argv);
  const plan = planTestRun(args, e2eFiles(), args.shard ? readDurations() : undefined);
  for (const l of planSummary(plan)) process.stderr.write(`lab: ${l}\n`);
  process.stdout.write(`${planLines(plan).join('\n')}\n`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    failWith(e);
  }
}

/** The record's path, repo-relative when it is in the repo. */
function shownRecord(): string {
  const rel = relative(repoRoot(), durationsFile());
  return rel.startsWith('..') ? durationsFile() : rel;
}

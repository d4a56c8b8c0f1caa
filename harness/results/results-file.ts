import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../common/errors';
import { REPORTS_ROOT } from '../common/paths';
import { resultsSchemaErrors } from './results-schema';
import type { RunResults } from './types';

/** The files a run report is made of, in its folder. */
export const REPORT_FILES = { results: 'results.json', junit: 'junit.xml', html: 'index.html' } as const;

/** results.json at `file`, replaced atomically; the renderers (report/) write beside it. */
export function writeResultsFile(file: string, results: RunResults): void {
  atomicWrite(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** A run named on the command line: a folder, a folder in reports/ (its run id), or 'latest'. */
export function resolveRunDir(arg: string | undefined): string {
  const name = arg ?? 'latest';
  const candidates = isAbsolute(name) || name.startsWith('.') || name.includes('/') ? [resolve(name)] : [join(REPORTS_ROOT, name), resolve(name)];
  for (const dir of candidates) {
    if (existsSync(join(dir, REPORT_FILES.results))) return dir;
    if (existsSync(dir) && statSync(dir).isFile() && dir.endsWith('.json')) return resolve(dir, '..');
  }
  throw new UsageError(`no run report '${name}': no ${REPORT_FILES.results} in ${candidates.join(' or ')}`, {
    hint: arg === undefined ? 'run ./lab boot (or test, bench) first' : 'give a run id from reports/, a run folder, or latest',
  });
}

/** A run folder's results.json, checked against the schema. */
export function readRunResults(dir: string): RunResults {
  const file = join(dir, REPORT_FILES.results);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const errors = resultsSchemaErrors(data);
  if (errors.length > 0) throw new UsageError(`${file} is not a results.json this lab can read:\n${errors.slice(0, 8).join('\n')}`);
  return data as RunResults;
}

export function atomicWrite(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  try {
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    // e.g. a folder where the file should be: the temp file would stay beside it.
    rmSync(`${file}.tmp`, { force: true });
    throw e;
  }
}

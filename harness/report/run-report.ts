import { existsSync, lstatSync, mkdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { HarnessError } from '../common/errors';
import { REPORTS_ROOT } from '../common/paths';
import { renderHtmlReport, type StageConsoles } from './html-report';
import { renderJunit } from './junit-xml';
import { atomicWrite, REPORT_FILES, writeResultsFile } from '../results/results-file';
import { resultsSchemaErrors } from '../results/results-schema';
import { readConsoleLog, type ConsoleFileLine } from '../results/run-facts';
import type { RunResults } from '../results/types';

/** Lines of one stage the page carries for a click (the rest is in the console log). */
const STAGE_LINES = 300;

export interface WrittenReport {
  dir: string;
  results: string;
  junit: string;
  html: string;
}

/**
 * The one writer of run reports: results.json (checked against results.schema.json),
 * junit.xml and index.html in `dir`, then reports/latest pointed at `dir` when it sits
 * in reports/. Synchronous, so an exit handler can call it. A results object the
 * schema refuses is still written (it is all there is), then reported as a
 * HarnessError: the harness broke its own format.
 */
export function writeRunReport(dir: string, results: RunResults, reportsRoot = REPORTS_ROOT): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const out: WrittenReport = {
    dir,
    results: join(dir, REPORT_FILES.results),
    junit: join(dir, REPORT_FILES.junit),
    html: join(dir, REPORT_FILES.html),
  };
  writeResultsFile(out.results, results);
  atomicWrite(out.junit, renderJunit(results));
  atomicWrite(out.html, renderHtmlReport(results, stageConsoles(dir, results)));
  pointLatest(dir, reportsRoot);
  const errors = resultsSchemaErrors(results);
  if (errors.length > 0) throw new HarnessError(`${out.results} does not match harness/results/results.schema.json:\n${errors.slice(0, 12).join('\n')}`);
  return out;
}

/**
 * Each client's console lines by stage, as the page shows them on a click: a line
 * belongs to the first stage marked at or after its time; lines after a failed
 * client's last mark belong to the stage it failed in (key '!fail').
 */
export function stageConsoles(dir: string, results: RunResults): StageConsoles {
  const out: StageConsoles = {};
  results.tests.forEach((t, ti) => {
    for (const c of t.clients) {
      if (c.consoleLog === undefined) continue;
      const lines = readConsoleLog(join(dir, c.consoleLog));
      let i = 0;
      const take = (key: string, until: number): void => {
        const slice: string[] = [];
        let endMs: number | undefined;
        for (; i < lines.length && (lines[i] as ConsoleFileLine).t <= until; i++) {
          slice.push((lines[i] as ConsoleFileLine).text);
          endMs = (lines[i] as ConsoleFileLine).t;
        }
        out[`${ti}/${c.client}/${key}`] = { lines: slice.slice(-STAGE_LINES), omitted: Math.max(0, slice.length - STAGE_LINES), ...(endMs === undefined ? {} : { endMs }) };
      };
      for (const s of c.stages) take(s.stage, s.t);
      if (!c.ok) take('!fail', Infinity);
    }
  });
  return out;
}

/** reports/latest -> the newest run folder, replaced atomically; only for folders directly in reports/. */
function pointLatest(dir: string, root: string): void {
  const abs = resolve(dir);
  if (dirname(abs) !== resolve(root)) return;
  const link = join(root, 'latest');
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    if (existsSync(tmp) || isLink(tmp)) unlinkSync(tmp);
    symlinkSync(basename(abs), tmp);
    renameSync(tmp, link);
  } catch {
    // A report stays valid without the link (e.g. reports/latest is a real folder someone made).
    if (isLink(tmp)) unlinkSync(tmp);
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

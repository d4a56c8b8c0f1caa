import type { RunResults, TestResult } from '../results/types';

interface Case {
  classname: string;
  name: string;
  seconds: number;
  outcome: TestResult['outcome'];
  type?: string;
  message?: string;
  body?: string;
  files: string[];
}

/**
 * results.json as JUnit XML (the de-facto schema CI servers read: testsuites >
 * testsuite > testcase with failure, error or skipped). Durations are the measured
 * ones: a boot's testcases are its clients, timed to their last stage; other runs'
 * are their tests. The stack failing (and a timing regression) is a <failure>, the
 * lab failing an <error>.
 */
export function renderJunit(results: RunResults): string {
  const cases: Case[] = results.kind === 'boot' ? results.tests.flatMap((t) => bootCases(results, t)) : results.tests.map((t) => testCase(results, t));
  const count = (pred: (c: Case) => boolean): number => cases.filter(pred).length;
  const failures = count((c) => c.outcome === 'fail' && c.type === 'failure');
  const errors = count((c) => (c.outcome === 'fail' && c.type !== 'failure') || c.outcome === 'interrupted');
  const skipped = count((c) => c.outcome === 'skipped');
  const seconds = results.finishedAt ? Math.max(0, (Date.parse(results.finishedAt) - Date.parse(results.startedAt)) / 1000) : cases.reduce((s, c) => s + c.seconds, 0);
  const totals = `tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${secs(seconds)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`ltsp-lab ${results.kind}`)}" ${totals}>`,
    `  <testsuite name="${attr(results.title)}" ${totals} timestamp="${attr(results.startedAt.replace(/\.\d+Z$/, ''))}" hostname="${attr(`${results.host.accel}-${results.host.cores}cpu`)}">`,
    ...cases.map(renderCase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

function bootCases(results: RunResults, t: TestResult): Case[] {
  if (t.clients.length === 0) return [testCase(results, t)];
  return t.clients.map((c): Case => {
    const last = c.stages[c.stages.length - 1];
    const failed = !c.ok;
    const out: Case = {
      classname: `${results.kind}.${results.runId}`,
      name: `${c.client} boots to login`,
      seconds: (last?.t ?? 0) / 1000,
      outcome: failed ? (t.outcome === 'interrupted' ? 'interrupted' : 'fail') : 'pass',
      files: [c.consoleLog, c.qmpLog].filter((f): f is string => f !== undefined),
    };
    if (failed) {
      out.type = t.error?.kind === 'sut' || t.error === undefined ? 'failure' : 'error';
      out.message = `failed at ${c.failedStage ?? 'unknown stage'}${c.error ? `: ${c.error.split('\n', 1)[0]}` : ''}`;
      out.body = [c.error ?? '', ...(c.consoleTail ?? [])].join('\n');
    }
    return out;
  });
}

function testCase(results: RunResults, t: TestResult): Case {
  const slash = t.id.lastIndexOf('/');
  const out: Case = {
    classname: `${results.kind}.${slash > 0 ? t.id.slice(0, slash) : results.runId}`,
    name: t.title,
    seconds: t.durationMs / 1000,
    outcome: t.outcome,
    files: [...t.clients.flatMap((c) => [c.consoleLog, c.qmpLog]), t.serverLog].filter((f): f is string => f !== undefined),
  };
  if (t.outcome === 'fail' || t.outcome === 'interrupted') {
    const e = t.error;
    out.type = e?.kind === 'sut' || e?.kind === 'regression' ? 'failure' : 'error';
    out.message = e ? `${e.class}: ${e.message}` : t.outcome;
    out.body = e ? [e.message, ...(e.stage ? [`stage: ${e.stage}`] : []), ...(e.consoleTail ?? [])].join('\n') : t.outcome;
  }
  return out;
}

function renderCase(c: Case): string {
  const head = `    <testcase classname="${attr(c.classname)}" name="${attr(c.name)}" time="${secs(c.seconds)}"`;
  const inner: string[] = [];
  if (c.outcome === 'skipped') inner.push('      <skipped/>');
  if (c.outcome === 'fail' || c.outcome === 'interrupted') {
    const tag = c.type === 'failure' ? 'failure' : 'error';
    inner.push(`      <${tag} message="${attr(c.message ?? '')}" type="${attr(c.outcome === 'interrupted' ? 'interrupted' : tag)}">${text(c.body ?? '')}</${tag}>`);
  }
  if (c.files.length) inner.push(`      <system-out>${text(c.files.map((f) => `[[ATTACHMENT|${f}]]`).join('\n'))}</system-out>`);
  return inner.length ? `${head}>\n${inner.join('\n')}\n    </testcase>` : `${head}/>`;
}

function secs(s: number): string {
  return (Math.max(0, s) || 0).toFixed(3);
}

// XML 1.0 allows neither most control characters nor lone surrogates, even escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function text(s: string): string {
  return s.replace(INVALID_XML, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}

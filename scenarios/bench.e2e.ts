import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { budgetMs, REPORTS_ROOT, resultsSchemaErrors, type BenchReport, type RunResults } from '../harness/index';
import { runLab } from './support/lab-cli';

/*
 * ./lab bench works end to end on its quickest case. The bench reports numbers and is
 * not judged on them here: nothing below asserts how fast anything was.
 */
describe('bench: ./lab bench runs its quick case and reports min / median / max @full', function () {
  it('./lab bench --case images-warm --runs 2 --json: exit 0, JSON on stdout, the table on stderr, bench.json on disk', async function () {
    const r = await runLab(['bench', '--case', 'images-warm', '--runs', '2', '--json'], { timeoutMs: budgetMs('imageBuild') });
    expect(r.code, `./lab bench exited ${r.code}:\n${r.stderr.slice(-4000)}`).to.equal(0);

    let report: BenchReport;
    try {
      report = JSON.parse(r.stdout) as BenchReport;
    } catch {
      throw new Error(`./lab bench --json printed no JSON on stdout:\n${r.stdout.slice(0, 2000)}`);
    }
    expect(report.cases.map((c) => c.name), 'the cases the bench ran').to.deep.equal(['images-warm']);
    const c = report.cases[0]!;
    expect(c.runs).to.equal(2);
    expect(c.failures, 'runs that failed').to.deep.equal([]);
    const warm = c.metrics.find((m) => m.id === 'warm');
    expect(warm, 'a "warm" metric').to.not.equal(undefined);
    expect(warm!.values, 'one warm build time per run').to.have.length(2);
    for (const v of warm!.values) expect(v, 'a build time in seconds').to.be.a('number').and.greaterThan(0);
    expect(warm!.min).to.equal(Math.min(...warm!.values));
    expect(warm!.max).to.equal(Math.max(...warm!.values));
    expect(warm!.median).to.equal((warm!.values[0]! + warm!.values[1]!) / 2);
    expect(warm!.target?.max, 'the issue 5 target of a warm build').to.equal(5);
    expect(warm!.met, 'met or missed, judged on the median').to.equal(warm!.median! <= 5);

    expect(r.stderr, 'the table on stderr').to.match(/== images-warm: .*\(2 runs, \d+ s\)/);
    expect(r.stderr).to.match(/metric\s+unit\s+min\s+median\s+max\s+target/);
    expect(r.stderr).to.match(/warm build \(no-op\)\s+s\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+<= 5\.00\s+(met|missed)/);
    expect(r.stderr).to.match(/targets: \d+ met, \d+ missed/);

    const file = join(REPORTS_ROOT, `bench-${report.runId}`, 'bench.json');
    expect(report.file).to.equal(file);
    expect(existsSync(file), `${file} exists`).to.equal(true);
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(onDisk.cases[0]?.metrics, 'bench.json holds the numbers printed').to.deep.equal(c.metrics);
    expect(onDisk.finishedAt, 'bench.json is the finished report').to.be.a('string');
    // Beside it, the report every run leaves: results.json (valid, a test per case), junit.xml, index.html.
    const results = JSON.parse(readFileSync(join(REPORTS_ROOT, `bench-${report.runId}`, 'results.json'), 'utf8')) as RunResults;
    expect(resultsSchemaErrors(results)).to.deep.equal([]);
    expect([results.kind, results.outcome, results.tests.map((t) => t.id)]).to.deep.equal(['bench', 'pass', ['images-warm']]);
    expect(existsSync(join(REPORTS_ROOT, `bench-${report.runId}`, 'index.html'))).to.equal(true);
  });
});

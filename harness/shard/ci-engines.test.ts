import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Ajv from 'ajv';
import { expect } from 'chai';
import { parse } from 'yaml';
import { repoRoot } from '../common/paths';
import { parseShard } from './test-plan';

/**
 * The CI engine files the README offers (.github/workflows/lab.yml, .gitlab-ci.yml), checked
 * against each engine's own rules from the npm registry: GitHub's workflow parser
 * (@actions/workflow-parser, the schema github.com itself applies) and GitLab's CI JSON
 * schema (shipped in gitlab-ci-local) through ajv. Then what the lab needs of them: every
 * shard runs `./lab test --shard I/N` with an I/N the lab accepts, its report folder is what
 * it keeps as an artefact, and the merge job's folders are the shards' run folders.
 */

const root = repoRoot();
const GITHUB = '.github/workflows/lab.yml';
const GITLAB = '.gitlab-ci.yml';
/** What ./lab test names a run folder (lab: run_tests), e.g. test-20261207-101500. */
const RUN_FOLDER = 'test-20261207-101500';

type Yaml = Record<string, unknown>;
const load = (file: string): Yaml => parse(readFileSync(join(root, file), 'utf8')) as Yaml;
const at = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Yaml | undefined)?.[k], o);

/**
 * GitHub's parser, run in a child: it is an ES module that imports its schema as JSON
 * without an import attribute, which Node 20 refuses; a load hook adds the attribute.
 */
function githubErrors(content: string): string[] {
  const hook = `export async function load(url, context, next) {
    return next(url, url.endsWith('.json') ? { ...context, importAttributes: { ...context.importAttributes, type: 'json' } } : context);
  }`;
  const program = `
    import { register } from 'node:module';
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    const p = await import('@actions/workflow-parser');
    const file = { name: 'lab.yml', content: process.env.WORKFLOW };
    const parsed = p.parseWorkflow(file, new p.NoOperationTraceWriter());
    const template = await p.convertWorkflowTemplate(parsed.context, parsed.value);
    const errors = [...parsed.context.errors.getErrors().map((e) => e.message), ...(template.errors ?? []).map((e) => e.Message)];
    process.stdout.write(JSON.stringify([...new Set(errors)]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: root, env: { ...process.env, WORKFLOW: content }, encoding: 'utf8', timeout: 30_000 });
  return JSON.parse(out) as string[];
}

/** GitLab's .gitlab-ci.yml schema (draft-07), as gitlab-ci-local ships it. */
function gitlabErrors(doc: unknown): string[] {
  const schemaFile = createRequire(__filename).resolve('gitlab-ci-local/src/schema/schema.json');
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as object);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

/** A shell glob (only `*`) as a regex over a whole path. */
const globRe = (glob: string): RegExp => new RegExp(`^${glob.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);

/** The argv of a `./lab ...` line of a job's script, with the engine's variables filled in. */
function labArgv(line: string, vars: Record<string, string>): string[] {
  let s = line;
  for (const [k, v] of Object.entries(vars)) s = s.split(k).join(v);
  const m = /^\.\/lab\s+(.*)$/.exec(s.trim());
  expect(m, `'${line}' is not a ./lab command`).to.not.equal(null);
  return (m as RegExpExecArray)[1].split(/\s+/).map((w) => w.replace(/^"(.*)"$/, '$1'));
}

function checkShards(argvs: string[][], total: number): void {
  expect(argvs).to.have.length(total);
  argvs.forEach((argv, i) => {
    expect(argv.slice(0, 2), argv.join(' ')).to.deep.equal(['test', '--shard']);
    expect(parseShard(argv[2] ?? '')).to.deep.equal({ index: i + 1, count: total });
  });
}

describe('CI engine files', function () {
  this.timeout(60_000);

  describe(`GitHub Actions (${GITHUB})`, () => {
    const text = readFileSync(join(root, GITHUB), 'utf8');
    const wf = load(GITHUB);

    it("passes GitHub's own workflow parser", () => {
      expect(githubErrors(text)).to.deep.equal([]);
    });

    it('the parser is not a rubber stamp: an unknown job key is refused', () => {
      const broken = text.replace('timeout-minutes: 60', 'timeout-minutes: 60\n    retries: 2');
      expect(broken).to.not.equal(text);
      const errors = githubErrors(broken);
      expect(errors.join('\n')).to.match(/Unexpected value 'retries'/);
    });

    it('every shard runs ./lab test --shard I/N with its own I and the matrix size as N', () => {
      const matrix = at(wf, 'jobs', 'shard', 'strategy', 'matrix', 'shard') as number[];
      const steps = at(wf, 'jobs', 'shard', 'steps') as Yaml[];
      const run = steps.map((s) => s.run).find((r): r is string => typeof r === 'string' && r.includes('./lab test')) as string;
      checkShards(
        matrix.map((i) => labArgv(run, { '${{ matrix.shard }}': String(i), '${{ strategy.job-total }}': String(matrix.length) })),
        matrix.length,
      );
    });

    it("keeps each shard's report folder, and the merge job merges the run folders in it", () => {
      const reports = at(wf, 'jobs', 'shard', 'env', 'LTSP_LAB_REPORTS') as string;
      const shardDir = reports.replace('${{ github.workspace }}/', '').replace('${{ matrix.shard }}', '2');
      const upload = (at(wf, 'jobs', 'shard', 'steps') as Yaml[]).find((s) => String(s.uses).startsWith('actions/upload-artifact'));
      const kept = String(at(upload, 'with', 'path'));
      expect(`${shardDir}/`.startsWith(kept), `${shardDir} is not under the artefact's path ${kept}`).to.equal(true);
      const report = at(wf, 'jobs', 'report') as Yaml;
      expect(report.needs).to.equal('shard');
      expect(report.if, 'the merge job must run when a shard failed').to.equal('always()');
      const download = (report.steps as Yaml[]).find((s) => String(s.uses).startsWith('actions/download-artifact'));
      expect(at(download, 'with', 'merge-multiple')).to.equal(true);
      const merge = labArgv((report.steps as Yaml[]).map((s) => s.run).find((r) => typeof r === 'string') as string, {});
      expect(merge.slice(0, 2)).to.deep.equal(['report', '--merge']);
      expect(`${shardDir}/${RUN_FOLDER}`).to.match(globRe(merge[2] ?? ''));
    });
  });

  describe(`GitLab CI (${GITLAB})`, () => {
    const doc = load(GITLAB);

    it("passes GitLab's CI schema", () => {
      expect(gitlabErrors(doc)).to.deep.equal([]);
    });

    it('the schema is not a rubber stamp: a bad parallel and an unknown key are refused', () => {
      const broken = structuredClone(doc);
      (broken['lab-test'] as Yaml).parallel = 'three';
      (broken['lab-report'] as Yaml).retries = 2;
      const errors = gitlabErrors(broken).join('\n');
      expect(errors).to.match(/\/lab-test\/parallel/);
      expect(errors).to.match(/\/lab-report .*additional properties|must NOT have additional properties/);
    });

    it('every parallel job runs ./lab test --shard I/N with CI_NODE_INDEX/CI_NODE_TOTAL', () => {
      const job = doc['lab-test'] as Yaml;
      const total = job.parallel as number;
      const line = (job.script as string[]).find((l) => l.includes('./lab test')) as string;
      checkShards(
        Array.from({ length: total }, (_, i) => labArgv(line, { $CI_NODE_INDEX: String(i + 1), $CI_NODE_TOTAL: String(total) })),
        total,
      );
    });

    it("keeps each job's report folder, and the merge job merges the run folders in it", () => {
      const job = doc['lab-test'] as Yaml;
      const shardDir = String(at(job, 'variables', 'LTSP_LAB_REPORTS')).replace('$CI_PROJECT_DIR/', '').replace('$CI_NODE_INDEX', '2');
      const kept = (at(job, 'artifacts', 'paths') as string[])[0] ?? '';
      expect(`${shardDir}/`.startsWith(kept), `${shardDir} is not under the artefact's path ${kept}`).to.equal(true);
      expect(at(job, 'artifacts', 'when')).to.equal('always');
      const report = doc['lab-report'] as Yaml;
      expect(report.needs).to.deep.equal([{ job: 'lab-test', artifacts: true }]);
      expect(report.when, 'the merge job must run when a shard failed').to.equal('always');
      const merge = labArgv((report.script as string[])[0] ?? '', {});
      expect(merge.slice(0, 2)).to.deep.equal(['report', '--merge']);
      expect(`${shardDir}/${RUN_FOLDER}`).to.match(globRe(merge[2] ?? ''));
    });
  });
});

import { validateWorkflow } from '@action-validator/core';
import Ajv from 'ajv';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../harness/index';
import { parseMergeArgs, parseTestArgs } from './args';

/*
 * The CI files that run ./lab test in shards (README: *Shards on a CI engine*), checked
 * against each engine's own schema from a registry package, then for what the lab needs
 * of them: N jobs, job I running `./lab test --shard I/N` into a run folder of its own
 * that is kept as an artefact, and a merge job running `./lab report --merge` on them.
 * - GitHub Actions: SchemaStore's github-workflow schema, as @action-validator/core
 *   compiles it in (actionlint cannot be fetched here).
 * - GitLab CI: GitLab's own ci.json, the copy gitlab-ci-local 4.49.0 ships as
 *   src/schema/schema.json (pinned: later releases bundle it, and need Node 22), through
 *   ajv as gitlab-ci-local runs it.
 */
const GITHUB = '.github/workflows/lab.yml';
const GITLAB = '.gitlab-ci.yml';

const read = (f: string): string => readFileSync(join(repoRoot(), f), 'utf8');

/** A `run:`/`script:` line's words after `./lab SUBCOMMAND`, with `vars` put in. */
function labArgs(lines: string[], sub: string, vars: Record<string, string>): string[] {
  const line = lines.find((l) => l.includes(`./lab ${sub}`));
  expect(line, `a line running ./lab ${sub} in:\n${lines.join('\n')}`).to.be.a('string');
  let text = line!.slice(line!.indexOf(`./lab ${sub}`) + `./lab ${sub}`.length);
  for (const [k, v] of Object.entries(vars)) text = text.split(k).join(v);
  return text.trim().split(/\s+/).map((w) => w.replace(/^"(.*)"$/, '$1'));
}

function gitlabSchemaErrors(doc: unknown): string[] {
  const schema = JSON.parse(readFileSync(require.resolve('gitlab-ci-local/src/schema/schema.json'), 'utf8')) as object;
  // gitlab-ci-local's own options for this schema (src/validator.ts).
  const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, validateFormats: false }).compile(schema);
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

interface GithubWorkflow {
  env: Record<string, string | number>;
  jobs: Record<string, { needs?: string | string[]; if?: string; strategy?: { matrix: { shard: number[] } }; steps: Array<{ run?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string> }> }>;
}

interface GitlabJob {
  stage: string;
  parallel?: number;
  needs?: Array<{ job: string; artifacts: boolean }>;
  when?: string;
  variables?: Record<string, string>;
  script: string[];
  artifacts: { when: string; paths: string[] };
}

describe('CI files: ./lab test in shards, merged by ./lab report --merge', () => {
  it(`${GITHUB}: valid against the github-workflow schema; a matrix of SHARDS jobs, each a shard with its run folder as an artefact, then the merge`, () => {
    const text = read(GITHUB);
    expect(validateWorkflow(text).errors, 'schema errors').to.deep.equal([]);
    const wf = parse(text) as GithubWorkflow;
    const shards = Number(wf.env.SHARDS);
    const test = wf.jobs.test!;
    expect(test.strategy!.matrix.shard, 'the matrix: shards 1 to SHARDS').to.deep.equal(Array.from({ length: shards }, (_, i) => i + 1));
    for (const i of test.strategy!.matrix.shard) {
      const vars = { '${{ matrix.shard }}': String(i), $SHARDS: String(shards), $TIER: 'full' };
      const step = test.steps.find((s) => s.run?.includes('./lab test'))!;
      expect(parseTestArgs(labArgs([step.run!], 'test', vars)), `shard ${i}'s ./lab test`).to.deep.include({ shard: { index: i, count: shards } });
      const run = step.env!.LTSP_LAB_TEST_RUN!.replace('${{ matrix.shard }}', String(i));
      const upload = test.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
      expect(upload.with!.path!.replace('${{ matrix.shard }}', String(i)), 'the artefact: the run folder').to.equal(`reports/${run}/`);
      expect(upload.with!.name!.replace('${{ matrix.shard }}', String(i))).to.equal(`lab-shard-${i}`);
    }
    const merge = wf.jobs.merge!;
    expect([merge.needs, merge.if]).to.deep.equal(['test', 'always()']);
    const download = merge.steps.find((s) => s.uses?.startsWith('actions/download-artifact'))!;
    expect(download.with).to.include({ pattern: 'lab-shard-*', path: 'shards' });
    expect(parseMergeArgs(['--merge', ...labArgs(merge.steps.map((s) => s.run ?? ''), 'report --merge', {})])).to.deep.equal({ dirs: ['shards/lab-shard-*'], out: 'reports/merged' });
  });

  it(`${GITLAB}: valid against GitLab's CI schema; parallel jobs, each a shard with its run folder as an artefact, then the merge`, () => {
    const doc = parse(read(GITLAB)) as Record<string, GitlabJob>;
    expect(gitlabSchemaErrors(doc), 'schema errors').to.deep.equal([]);
    const lab = doc.lab!;
    const n = lab.parallel!;
    expect(n, 'parallel jobs').to.be.at.least(2);
    for (let i = 1; i <= n; i++) {
      const vars = { $CI_NODE_INDEX: String(i), $CI_NODE_TOTAL: String(n), $TIER: 'full' };
      expect(parseTestArgs(labArgs(lab.script, 'test', vars)), `job ${i}'s ./lab test`).to.deep.include({ shard: { index: i, count: n } });
      const run = lab.variables!.LTSP_LAB_TEST_RUN!.replace('$CI_NODE_INDEX', String(i));
      expect(lab.artifacts.paths.map((p) => p.replace('$CI_NODE_INDEX', String(i))), 'the artefact: the run folder').to.deep.equal([`reports/${run}/`]);
    }
    expect(lab.artifacts.when).to.equal('always');
    const merge = doc.merge!;
    expect([merge.needs, merge.when]).to.deep.equal([[{ job: 'lab', artifacts: true }], 'always']);
    expect(parseMergeArgs(['--merge', ...labArgs(merge.script, 'report --merge', {})])).to.deep.equal({ dirs: ['reports/shard-*'], out: 'reports/merged' });
  });

  it('each schema check goes red on a file its engine would refuse', () => {
    const doc = parse(read(GITLAB)) as Record<string, Record<string, unknown>>;
    doc.lab!.parallel = 'three';
    expect(gitlabSchemaErrors(doc).join('\n')).to.match(/\/lab\/parallel must be integer/);
    const wf = validateWorkflow(read(GITHUB).replace('runs-on: ubuntu-latest', 'runs_on: ubuntu-latest'));
    expect(JSON.stringify(wf.errors)).to.match(/Additional property 'runs_on' is not allowed/);
  });
});

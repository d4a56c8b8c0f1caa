import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import * as ts from 'typescript';
import { repoRoot } from './common/paths';

/**
 * The arrows between harness/'s folders run down its floors (harness/floors.json) and
 * never in a circle, between folders or between files. eslint.config.mjs refuses an
 * up-arrow as it is typed; this also sees the circles, which a per-file rule cannot.
 * Unit tests (*.test.ts) are left out: see below.
 */

interface Floors {
  floors: { name: string; folders: string[] }[];
  knownCircles: { files: string[]; why: string }[];
}

const ROOT = repoRoot();
const HARNESS = join(ROOT, 'harness');
const FLOORS = JSON.parse(readFileSync(join(HARNESS, 'floors.json'), 'utf8')) as Floors;

/** Every .ts file under harness/, repo-relative, tests included. */
function harnessFiles(dir = HARNESS): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...harnessFiles(p));
    else if (name.endsWith('.ts') && p !== __filename) out.push(relative(ROOT, p));
  }
  return out.sort();
}

/** The repo files a file imports by relative path (import, export ... from, import(), require()). */
export function localImports(file: string, source: string): string[] {
  const out: string[] = [];
  for (const ref of ts.preProcessFile(source, true, true).importedFiles) {
    if (!ref.fileName.startsWith('.')) continue;
    const base = normalize(join(dirname(file), ref.fileName));
    const hit = [`${base}.ts`, base, join(base, 'index.ts')].find((c) => existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile());
    out.push(hit ?? base);
  }
  return out;
}

/** harness/<folder>/… -> folder; a file at harness/'s top (index.ts, index.test.ts) -> 'index.ts'; outside harness/ -> the top folder. */
function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'harness') return parts[0] as string;
  // harness/index.ts and its test (harness/index.test.ts) are the public face's floor.
  return parts.length === 2 ? 'index.ts' : (parts[1] as string);
}

/** Strongly connected groups of more than one node (Tarjan). */
export function circles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) out.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('harness floors: imports run down, never in a circle', () => {
  const floorOf = new Map<string, number>();
  FLOORS.floors.forEach((f, i) => f.folders.forEach((d) => floorOf.set(d, i)));
  const files = harnessFiles();
  // Tests may reach up (a schema test feeds it what the writers above write): nothing
  // imports a test, so a test neither closes a circle nor ships lab code in a lower floor.
  const edges = files.filter((f) => !f.endsWith('.test.ts')).map((f) => ({ file: f, imports: localImports(f, readFileSync(join(ROOT, f), 'utf8')) }));

  it('every folder under harness/ has one floor in harness/floors.json', () => {
    const folders = [...new Set(files.map(folderOf))].sort();
    expect(folders.filter((d) => !floorOf.has(d)), 'folders with no floor: add them to harness/floors.json').to.deep.equal([]);
    const listed = FLOORS.floors.flatMap((f) => f.folders);
    expect(listed.length, 'a folder listed on two floors').to.equal(new Set(listed).size);
  });

  it('no import runs up a floor, nor out of harness/ into cli/ or scenarios/', () => {
    const up: string[] = [];
    for (const { file, imports } of edges) {
      const from = floorOf.get(folderOf(file));
      for (const target of imports) {
        const to = target.startsWith('harness/') ? floorOf.get(folderOf(target)) : Infinity;
        if (from === undefined || to === undefined) continue;
        if (to > from) up.push(`${file} -> ${target} (floor ${from} '${FLOORS.floors[from]?.name}' imports floor ${to === Infinity ? 'outside harness/' : `${to} '${FLOORS.floors[to]?.name}'`})`);
      }
    }
    expect(up, 'arrows that run back up').to.deep.equal([]);
  });

  it('no circle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, imports } of edges) {
      const from = folderOf(file);
      for (const target of imports) {
        const to = folderOf(target);
        if (to === from || !target.startsWith('harness/')) continue;
        graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
    }
    expect(circles(graph), 'folders that import each other').to.deep.equal([]);
  });

  it('no circle between files, apart from the ones floors.json names as known', () => {
    const graph = new Map<string, Set<string>>();
    for (const { file, imports } of edges) graph.set(file, new Set(imports.filter((t) => t.startsWith('harness/'))));
    const known = new Set(FLOORS.knownCircles.map((c) => [...c.files].sort().join(' ')));
    const found = circles(graph).map((c) => c.join(' '));
    expect(found.filter((c) => !known.has(c)), 'files that import each other').to.deep.equal([]);
    expect([...known].filter((c) => !found.includes(c)), 'a known circle that is gone: drop it from harness/floors.json').to.deep.equal([]);
  });

  it('finds a circle and an up-arrow in a made-up graph (the check can fail)', () => {
    const g = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(circles(g)).to.deep.equal([['a', 'b', 'c']]);
    expect(localImports('harness/gate/x.ts', "import type { A } from '../bench/stats';\nexport { b } from './judge';")).to.deep.equal(['harness/bench/stats.ts', 'harness/gate/judge.ts']);
  });
});

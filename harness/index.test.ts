import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Errors a caller may catch and types a caller may name, though none does yet. */
const KEPT = new Set(['LabError', 'LaunchError', 'QmpError', 'DeadlineError', 'QemuWrapperError', 'ConsoleLogError', 'QemuConfigError', 'ErrorKind', 'ClientState', 'CommandResult', 'FaultOutcome', 'FaultTargets']);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(ROOT, dir, f), 'utf8'));
}

/** The names harness/index.ts exports (as exported, after any `as`). */
function exportedNames(): string[] {
  const index = readFileSync(join(ROOT, 'harness', 'index.ts'), 'utf8');
  expect(index, 'the index names what it exports').not.to.match(/export \*/);
  const names: string[] = [];
  for (const [, list] of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of (list as string).split(',')) {
      const name = item.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()?.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

describe('harness/index.ts, the public surface', () => {
  it('exports only what cli/ and scenarios/ use, and the errors and types kept on purpose', () => {
    const users = [...sources('cli'), ...sources('scenarios')].join('\n');
    const unused = exportedNames().filter((n) => !KEPT.has(n) && !new RegExp(`\\b${n}\\b`).test(users));
    expect(unused, 'exported but used by neither cli/ nor scenarios/: keep them private').to.deep.equal([]);
  });
});

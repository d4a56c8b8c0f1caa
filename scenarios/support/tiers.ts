import { relative } from 'node:path';
import { TIERS, tierOfTitle } from '../../harness/index';

/** The tests of a mocha suite tree whose full title declares no tier, or more than one, each with why. */
export function undeclaredTests(root: Mocha.Suite): string[] {
  const out: string[] = [];
  const walk = (s: Mocha.Suite): void => {
    for (const t of s.tests) {
      const tier = tierOfTitle(t.fullTitle());
      if (!(TIERS as readonly string[]).includes(tier)) out.push(`${t.file ? `${relative(process.cwd(), t.file)}: ` : ''}"${t.fullTitle()}" ${tier}`);
    }
    for (const c of s.suites) walk(c);
  };
  walk(root);
  return out;
}

/** Refuses a run whose suites hold a test of no tier: it would run in no tier, or in a wrong one. */
export function checkTiers(root: Mocha.Suite): void {
  const bad = undeclaredTests(root);
  if (bad.length > 0) throw new Error(`every end-to-end test belongs to one tier (harness/shard/tiers.ts):\n${bad.map((b) => `  ${b}`).join('\n')}`);
}

import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

// qemu-ts-wrapper is a package: the lab reaches it through its index only (this pattern
// is part of every floor's rule too, since a later no-restricted-imports replaces an earlier one).
const WRAPPER_INDEX_ONLY = { regex: 'qemu-ts-wrapper/.', message: 'import qemu-ts-wrapper through its index (…/qemu-ts-wrapper), not a file inside it' };

// harness/floors.json: the floors of harness/, bottom first. A file may import its own
// floor and below; an import of a higher floor (or of cli/, scenarios/) is refused here
// as it is typed. harness/floors.test.ts checks the same floors and the circles.
const { floors } = JSON.parse(readFileSync(new URL('./harness/floors.json', import.meta.url), 'utf8'));
const floorRules = floors.flatMap((floor, i) =>
  floor.folders
    // qemu-ts-wrapper has a rule of its own below: it imports nothing outside its folder.
    .filter((folder) => folder !== 'index.ts' && folder !== 'qemu-ts-wrapper')
    .map((folder) => {
      const above = floors.slice(i + 1).flatMap((f) => f.folders).filter((f) => f !== 'index.ts');
      return {
        files: [`harness/${folder}/**/*.ts`],
        ignores: ['**/*.test.ts'],
        rules: {
          'no-restricted-imports': ['error', {
            patterns: [
              ...above.map((up) => ({
                group: [`../${up}`, `../${up}/**`],
                message: `harness/${folder} (floor '${floor.name}') may not import harness/${up}, a higher floor (harness/floors.json)`,
              })),
              { group: ['../index', '../../cli/**', '../../scenarios/**'], message: 'harness/ imports neither its own public face nor cli/ or scenarios/ (harness/floors.json)' },
              WRAPPER_INDEX_ONLY,
            ],
          }],
        },
      };
    }),
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'coverage/**', '.nyc_output/**', 'dist/**', '**/dist/**', 'build/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // qemu-ts-wrapper is a package: the lab reaches it through its index only, and it
  // reaches nothing outside its own folder.
  {
    files: ['**/*.ts'],
    ignores: ['harness/qemu-ts-wrapper/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [WRAPPER_INDEX_ONLY],
      }],
    },
  },
  {
    files: ['harness/qemu-ts-wrapper/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ regex: '^\\.\\./', message: 'qemu-ts-wrapper owes nothing to the lab: import only from inside its folder and its dependencies' }],
      }],
    },
  },
  // cli/ and scenarios/ reach the harness through its public face only (harness/index.ts);
  // their unit tests may reach inside (a fake, a test helper).
  {
    files: ['cli/**/*.ts', 'scenarios/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { regex: '^(\\.\\./)+harness/(?!index$)', message: 'cli/ and scenarios/ import the harness through harness/index only (its public face)' },
          WRAPPER_INDEX_ONLY,
        ],
      }],
    },
  },
  {
    files: ['**/*.test.ts', 'scenarios/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  ...floorRules,
);

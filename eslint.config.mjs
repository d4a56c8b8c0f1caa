import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { readFileSync } from 'node:fs';
import { URL } from 'node:url';

// harness/floors.json: the floors of harness/, bottom first. A file may import its own
// floor and below; an import of a higher floor (or of cli/, scenarios/) is refused here
// as it is typed. harness/floors.test.ts checks the same floors and the circles.
const { floors } = JSON.parse(readFileSync(new URL('./harness/floors.json', import.meta.url), 'utf8'));
const floorRules = floors.flatMap((floor, i) =>
  floor.folders
    .filter((folder) => folder !== 'index.ts')
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
            ],
          }],
        },
      };
    }),
);

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'coverage/**', '.nyc_output/**', 'dist/**', 'build/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['**/*.test.ts', 'scenarios/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  ...floorRules,
);

import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

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
        patterns: [{ regex: 'qemu-ts-wrapper/.', message: 'import qemu-ts-wrapper through its index (…/qemu-ts-wrapper), not a file inside it' }],
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
  {
    files: ['**/*.test.ts', 'scenarios/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);

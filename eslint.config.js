// ESLint (flat config) with typescript-eslint: run by `npm test` through `npm run lint`.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', 'data/**', '**/generated/**', 'src/core/identifiers/unicode-data.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Scripts that run in the browser: the pages, and the pages the browser tests serve.
  { files: ['web/**', '**/test/**/browser/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  {
    files: ['**/*.{js,mjs,ts}'],
    ignores: ['web/**', '**/test/**/browser/**/*.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are mistakes, except the ones that say so with a leading underscore.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);

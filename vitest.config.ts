import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The packages' tests run here too, so that one run (and one JSON report for CI) covers everything.
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // The hosted pages are built before the tests that load them (a fresh clone has no dist/web).
    globalSetup: ['test/helpers/build-web.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});

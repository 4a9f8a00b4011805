import { defineConfig } from 'vitest/config';

/** The browser test: real Chromium against the whole product started as a child process. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    // One `simbind serve` with the demo data for every file (first-run.e2e.ts starts its own, empty).
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    pool: 'forks',
    fileParallelism: false,
    // A screen waits on the server (a sign-in hashes a password): the 1 s default of `expect.poll`
    // failed on a busy machine where the same step passes on a quiet one; in CI the suite runs
    // beside another Node line's npm test, so element waits (setDefaultTimeout) and polls get 20 s.
    expect: { poll: { timeout: 20_000 } },
  },
});

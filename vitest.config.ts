import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Three files at a time on any machine: the files mostly wait (on PostgreSQL, the simulators,
    // the workers), so on 2 cores three run in about half the time of vitest's default (cores − 1).
    maxWorkers: 3,
  },
});

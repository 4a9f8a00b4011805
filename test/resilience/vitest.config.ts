import { defineConfig } from 'vitest/config';

/**
 * The bad-day proofs (killed workers at scale, faulty partners, a database restart, cancels under
 * load): minutes each, so apart from `npm test`; CI runs them on the PostgreSQL server (production's
 * shape; `npm run test:resilience` alone uses the embedded one). One file at a time: they start worker processes and measure recovery times.
 */
export default defineConfig({
  test: {
    include: ['test/resilience/**/*.resilience.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});

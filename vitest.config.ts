import { configDefaults, defineConfig } from 'vitest/config';

// The fault tests stop the machine's Postgres and Redis and kill processes: they run on their own, one file at
// a time, in a second `vitest run` (`npm test` runs both; `npm run test:faults` only them).
const faults = process.env.SIMSIFT_FAULT_TESTS === '1';

export default defineConfig({
  test: {
    include: faults ? ['test/integration/faults/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: faults ? [...configDefaults.exclude] : [...configDefaults.exclude, 'test/integration/faults/**'],
    // Integration tests each create their own database and queue prefix, so files may run in parallel.
    fileParallelism: !faults,
    testTimeout: faults ? 240_000 : 30_000,
    hookTimeout: faults ? 240_000 : 60_000,
    pool: 'forks',
  },
});

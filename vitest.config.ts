import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Tests run the core's debug build: its assertions turn silent corruption into a trap.
    env: { PHEAP_CORE: 'debug' },
  },
});

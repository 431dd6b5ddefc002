import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'core/**/*.test.ts', '*/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores: keep parallelism modest so real servers are not starved.
    maxWorkers: 2,
    fileParallelism: true,
  },
});

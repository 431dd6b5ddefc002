import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the randomized fault series (issue 9 item 2). Its files end in
// `.series.ts`, which vitest.config.ts does not include; `npm test` (tests/run-tests.js) runs this
// config after the main suite has passed.
export default defineConfig({
  test: {
    include: ['tests/fault-series/**/*.series.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    globalSetup: ['tests/global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});

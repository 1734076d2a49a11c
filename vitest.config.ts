import { defineConfig } from 'vitest/config';

// Unit tests live beside the code (src/**/*.test.ts); tests across processes or layers under test/,
// mirroring src/ (test/workers/<service>, test/main/<part>, test/renderer, test/pipeline).
// Integration tests start real processes (redis-server, workers); they run in forks, not threads,
// so a crashed child cannot take the runner down with it.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Under CI=true a missing system package (chromium, redis-server, pocketsphinx, ...) fails the run.
    globalSetup: ['test/helpers/ci-global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});

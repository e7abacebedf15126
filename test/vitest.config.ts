import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The config lives in test/ (the top level is fixed); paths below are from the project root.
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    // In CI a JSON report beside the console one, so .ci/run can print a plain 'N passed, N failed' line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'pipeline/**/*.test.ts', 'detectors/**/*.test.ts', 'schemas/**/*.test.ts', 'sinks/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // One broker, one ClickHouse: files run one after another so their timings stay honest.
          fileParallelism: false,
        },
      },
    ],
  },
});

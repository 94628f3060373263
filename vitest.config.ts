import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/data/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run print the plain "N passed, N failed" summary line.
    reporters: ['default', 'json'],
    outputFile: { json: 'node_modules/.vitest/report.json' },
  },
});

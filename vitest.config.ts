import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure logic, plus integration tests of one package
 * against the real Redis/RabbitMQ with random prefixes) and `e2e` (real
 * backend and worker processes). E2E files run one at a time: they spawn
 * processes and measure timings that parallel files would disturb.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts'],
          testTimeout: 15_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

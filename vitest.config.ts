import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests import the @relay/* packages from their sources, under the export
 * condition their package.json files name `relay-source`, so no build is needed
 * first (`node dist/...` takes the default condition: the compiled files).
 * Setting the list replaces Vite's default for server code, so it is repeated
 * (`defaultServerConditions` in vite, which is not a direct dependency here).
 */
export const sourceConditions = {
  ssr: { resolve: { conditions: ['module', 'node', 'development|production', 'relay-source'] } },
};

/**
 * Two projects: `unit` (pure logic, plus integration tests of one package
 * against the real Redis/RabbitMQ with random prefixes) and `e2e` (real
 * backend and worker processes). E2E files run one at a time: they spawn
 * processes and measure timings that parallel files would disturb. Tests of
 * the e2e helpers' pure parts (test files in e2e support folders, e.g. the HA load
 * report) and of the benchmark's reports (bench/*.test.ts) are unit tests:
 * they start nothing.
 */
export default defineConfig({
  test: {
    projects: [
      {
        ...sourceConditions,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'e2e/**/support/*.test.ts', 'bench/*.test.ts'],
          testTimeout: 15_000,
        },
      },
      {
        ...sourceConditions,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          // The console's browser tests need Chromium: `pnpm test:browser` (vitest.browser.config.ts).
          exclude: [...configDefaults.exclude, 'e2e/**/support/*.test.ts', 'e2e/console/**'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});

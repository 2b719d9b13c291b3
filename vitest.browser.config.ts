import { defineConfig } from 'vitest/config';
import { sourceConditions } from './vitest.config.js';

/**
 * The console's tests in a real headless Chromium (`pnpm test:browser`): a
 * real stack (backend serving /console, workers, Redis, RabbitMQ) driven
 * through the browser with playwright-core. Apart from the e2e project because
 * they need Chromium installed and the console built (globalSetup builds it
 * when packages/console/dist is missing). One file at a time, as e2e.
 */
export default defineConfig({
  ...sourceConditions,
  test: {
    name: 'browser',
    include: ['e2e/console/**/*.test.ts'],
    globalSetup: ['e2e/console/support/build-console.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 90_000,
  },
});

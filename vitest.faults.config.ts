import { defineConfig } from 'vitest/config';
import { sourceConditions } from './vitest.config.js';

/**
 * The fault-injection suite (`pnpm test:faults`), apart from the other tests
 * because it stops and restarts the machine's RabbitMQ and Redis: nothing else
 * may run against them meanwhile. Scenarios run one after another.
 */
export default defineConfig({
  ...sourceConditions,
  test: {
    name: 'faults',
    include: ['e2e/faults/**/*.fault.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});

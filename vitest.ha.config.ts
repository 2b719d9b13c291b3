import { defineConfig } from 'vitest/config';
import { sourceConditions } from './vitest.config.js';

/**
 * The HA suite (`pnpm test:ha`): scenarios on replicated brokers that the
 * files start themselves from scripts/ha/*.sh, on ports of their own (never
 * the shared RabbitMQ and Redis). Slow, so apart from `pnpm test`; they run
 * one after another.
 */
export default defineConfig({
  ...sourceConditions,
  test: {
    name: 'ha',
    include: ['e2e/ha/**/*.ha.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 180_000,
  },
});

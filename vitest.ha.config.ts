import { defineConfig } from 'vitest/config';
import { sourceConditions } from './vitest.config.js';

/**
 * The high-availability suite (`pnpm test:ha`): scenarios that start their
 * own RabbitMQ cluster, Redis Cluster or Sentinel set-up from scripts/ha/,
 * kill nodes of it under load and count what was lost. Apart from `pnpm test`
 * because a cluster takes tens of seconds to form and each scenario runs a
 * load for a minute or so; CI runs it after `pnpm test` (.ci/run). Files run
 * one after another: they share the machine's ports and CPU, and their
 * figures (gaps in 202s, throughput) mean nothing when two run at once.
 */
export default defineConfig({
  ...sourceConditions,
  test: {
    name: 'ha',
    include: ['e2e/ha/**/*.ha.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 300_000,
  },
});

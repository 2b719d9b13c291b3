import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { unavailable } from '../services/job-actions.js';
import { CountersSchema, ErrorBodySchema } from './jobs/schemas.js';

/** Cluster-wide counters kept in Redis, so every backend and worker adds to the same numbers. */
const counterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: 'Cluster-wide job counters (JSON)',
        response: { 200: CountersSchema, 503: ErrorBodySchema },
      },
    },
    async () =>
      app.jobStore.counters().catch((err: unknown) => {
        throw unavailable('Redis', err);
      }),
  );
};

export default counterRoutes;

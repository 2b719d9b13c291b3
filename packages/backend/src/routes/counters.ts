import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DEFAULT_APPLICATION, ErrorBodySchema } from '@relay/common';
import { CountersSchema } from './jobs/schemas.js';

/**
 * Job counters kept in Redis, so every backend and worker adds to the same
 * numbers: an application key sees its own application's, the master key the
 * sum over every application.
 */
const counterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/metrics',
    {
      schema: {
        tags: ['metrics'],
        summary: "Job counters (JSON): the caller's application's, or the whole cluster's with the master key",
        response: { 200: CountersSchema, 401: ErrorBodySchema, 503: ErrorBodySchema },
      },
      config: { access: 'any' },
    },
    async (request) => {
      if (request.principal.kind !== 'master') return request.jobs.counters();
      const ids = await app.applications.ids();
      return app.jobStore.counters([DEFAULT_APPLICATION, ...ids]);
    },
  );
};

export default counterRoutes;

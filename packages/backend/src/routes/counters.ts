import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DEFAULT_APPLICATION } from '@relay/common';
import { unavailable } from '../services/job-actions.js';
import { CountersSchema, ErrorBodySchema } from './jobs/schemas.js';

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
      const counters =
        request.principal.kind === 'master'
          ? app.applications.ids().then((ids) => app.jobStore.counters([DEFAULT_APPLICATION, ...ids]))
          : request.jobs.counters();
      return counters.catch((err: unknown) => {
        throw unavailable('Redis', err);
      });
    },
  );
};

export default counterRoutes;

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { EMBEDDED_ATTEMPTS, ErrorBodySchema, RelayError, searchJobs, toSummary } from '@relay/common';
import { toFilter, parseCursor } from './filters.js';
import {
  AttemptsPageSchema,
  AttemptsQuerySchema,
  JobIdParamsSchema,
  JobListSchema,
  JobViewSchema,
  ListQuerySchema,
  PageLimits,
} from './schemas.js';

/** Reading jobs: the list and search, one job, and a page of its attempt log. */
const jobReadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List and search jobs, newest first',
        description:
          'Filters: `status` (repeat for several), `metadata.<key>=<value>` (any number, all must match), ' +
          '`targetHost`, `createdAfter`/`createdBefore` (ISO 8601). Pages: `limit` ' +
          `(default ${PageLimits.jobs.default}, max ${PageLimits.jobs.max}) and ` +
          '`cursor` (the `nextCursor` of the previous page).',
        querystring: ListQuerySchema,
        response: { 200: JobListSchema, 400: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query as typeof request.query & Record<string, unknown>;
      const page = await searchJobs(request.jobs, toFilter(query), query.limit, parseCursor(query.cursor));
      return { jobs: page.items.map((i) => toSummary(i.jobId, i.job)), nextCursor: page.nextCursor };
    },
  );

  const getJob = {
    schema: {
      tags: ['jobs'],
      summary: `A job with its status and attempt log (the newest ${EMBEDDED_ATTEMPTS} entries)`,
      params: JobIdParamsSchema,
      response: { 200: JobViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema },
    },
  };
  for (const url of ['/api/job/:jobId', '/api/jobs/:jobId']) {
    app.get(url, getJob, async (request) => {
      const job = await request.jobs.get(request.params.jobId);
      if (!job)
        throw new RelayError('JOB_NOT_FOUND', { message: `No job ${request.params.jobId} (it may have expired)` });
      return job;
    });
  }

  app.get(
    '/api/job/:jobId/attempts',
    {
      schema: {
        tags: ['jobs'],
        summary: "A page of a job's attempt log, oldest first",
        params: JobIdParamsSchema,
        querystring: AttemptsQuerySchema,
        response: { 200: AttemptsPageSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request) => {
      const { offset, limit } = request.query;
      const page = await request.jobs.attemptsPage(request.params.jobId, offset, limit);
      if (!page) throw new RelayError('JOB_NOT_FOUND');
      const next = offset + limit;
      return { ...page, nextOffset: next < page.total ? next : null };
    },
  );
};

export default jobReadRoutes;

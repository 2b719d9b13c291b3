import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, RelayError, searchJobs, toSummary } from '@relay/common';
import { replayJob } from '../services/job-actions.js';
import { parseCursor, toFilter } from './jobs/filters.js';
import {
  BulkReplayBodySchema,
  BulkReplayResultSchema,
  DeadLetterListSchema,
  ListQuerySchema,
} from './jobs/schemas.js';

/** Dead letters: jobs that failed for good, listed newest first and replayable in bulk. */
const deadLetterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/dead-letters',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'List dead-lettered jobs, most recently dead-lettered first',
        description: 'Same filters and pages as GET /api/jobs, including `metadata.<key>=<value>`.',
        querystring: ListQuerySchema,
        response: { 200: DeadLetterListSchema, 400: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query as typeof request.query & Record<string, unknown>;
      const filter = { ...toFilter(query), deadLettered: true };
      const page = await searchJobs(request.jobs, filter, query.limit, parseCursor(query.cursor));
      return { deadLetters: page.items.map((i) => toSummary(i.jobId, i.job)), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/api/dead-letters/replay',
    {
      schema: {
        tags: ['dead letters'],
        summary: 'Replay the dead letters matching a filter (at most `limit` per call)',
        body: BulkReplayBodySchema,
        response: { 200: BulkReplayResultSchema, 400: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request) => {
      const body = request.body;
      const page = await searchJobs(request.jobs, { ...toFilter(body), deadLettered: true }, body.limit, null);
      const replayed: string[] = [];
      const failed: { jobId: string; code: string; message: string }[] = [];
      for (const { jobId } of page.items) {
        try {
          await replayJob(app, request.jobs, jobId, request.id);
          replayed.push(jobId);
        } catch (err) {
          if (!(err instanceof RelayError) || err.statusCode >= 500) throw err;
          failed.push({ jobId, code: err.code, message: err.message });
        }
      }
      return { replayed, failed, nextCursor: page.nextCursor };
    },
  );
};

export default deadLetterRoutes;

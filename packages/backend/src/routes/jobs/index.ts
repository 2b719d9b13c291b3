import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JobSpecSchema, JobStatus, RelayError, searchJobs, toSummary, type AttemptMessage } from '@relay/common';
import { rejectionReason } from '../../plugins/metrics.js';
import { traceIdOf } from '../../services/tracing.js';
import { unavailable } from '../../services/job-actions.js';
import { toFilter, parseCursor } from './filters.js';
import {
  AttemptsPageSchema,
  AttemptsQuerySchema,
  ErrorBodySchema,
  JobAcceptedSchema,
  JobIdParamsSchema,
  JobListSchema,
  JobViewSchema,
  ListQuerySchema,
} from './schemas.js';

const jobsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job',
        body: JobSpecSchema,
        response: { 202: JobAcceptedSchema, 400: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema },
      },
      // A route hook also sees the 400/413/415 answered before the handler runs.
      onResponse: async (_request, reply) => {
        if (reply.statusCode === 202) app.metrics.jobsAccepted.inc();
        else app.metrics.jobsRejected.inc({ reason: rejectionReason(reply.statusCode) });
      },
    },
    async (request, reply) => {
      const spec = request.body;
      const jobId = randomUUID();
      const createdAt = new Date();
      const traceId = traceIdOf(request.headers.traceparent);
      try {
        await app.jobStore.create({ jobId, spec, createdAt, requestId: request.id, traceId });
      } catch (err) {
        throw unavailable('Redis', err);
      }
      const message: AttemptMessage = {
        v: 1,
        kind: 'attempt',
        jobId,
        attempt: 1,
        seriesBase: 0,
        dueAt: 0,
        createdAt: createdAt.toISOString(),
        spec,
        requestId: request.id,
        traceId,
      };
      try {
        await app.jobQueue.publish(message);
      } catch (err) {
        // No confirm: take the record back so no job claims to be queued. If
        // the confirm was merely late, the worker recreates the record from
        // the message (see README, delivery guarantees).
        await app.jobStore.delete(jobId, spec).catch((delErr: unknown) => {
          request.log.error({ err: delErr, jobId }, 'could not remove the record of a job that was not queued');
        });
        throw unavailable('RabbitMQ', err);
      }
      request.log.info({ jobId, method: spec.method }, 'job accepted');
      return reply
        .code(202)
        .header('location', `/api/job/${jobId}`)
        .send({ jobId, status: JobStatus.queued, message: 'Job accepted for processing' });
    },
  );

  app.get(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List and search jobs, newest first',
        description:
          'Filters: `status` (repeat for several), `metadata.<key>=<value>` (any number, all must match), ' +
          '`targetHost`, `createdAfter`/`createdBefore` (ISO 8601). Pages: `limit` (default 50, max 500) and ' +
          '`cursor` (the `nextCursor` of the previous page).',
        querystring: ListQuerySchema,
        response: { 200: JobListSchema, 400: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request) => {
      const query = request.query as typeof request.query & Record<string, unknown>;
      const page = await searchJobs(app.jobStore, toFilter(query), query.limit, parseCursor(query.cursor)).catch(
        (err: unknown) => {
          throw unavailable('Redis', err);
        },
      );
      return { jobs: page.items.map((i) => toSummary(i.jobId, i.job)), nextCursor: page.nextCursor };
    },
  );

  const getJob = {
    schema: {
      tags: ['jobs'],
      summary: 'A job with its status and attempt log (the newest 100 entries)',
      params: JobIdParamsSchema,
      response: { 200: JobViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema },
    },
  };
  for (const url of ['/api/job/:jobId', '/api/jobs/:jobId']) {
    app.get(url, getJob, async (request) => {
      const job = await app.jobStore.get(request.params.jobId).catch((err: unknown) => {
        throw unavailable('Redis', err);
      });
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
      const page = await app.jobStore.attemptsPage(request.params.jobId, offset, limit).catch((err: unknown) => {
        throw unavailable('Redis', err);
      });
      if (!page) throw new RelayError('JOB_NOT_FOUND');
      const next = offset + limit;
      return { ...page, nextOffset: next < page.total ? next : null };
    },
  );
};

export default jobsRoutes;

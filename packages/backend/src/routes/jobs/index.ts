import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import {
  JobSpecSchema,
  JobStatus,
  RelayError,
  searchJobs,
  toSummary,
  type AttemptMessage,
  type JobSpec,
  type NetworkAllowlist,
} from '@relay/common';
import { rejectionReason } from '../../plugins/metrics.js';
import { Idempotency, IDEMPOTENCY_KEY_PATTERN, type StoredAnswer } from '../../services/idempotency.js';
import { rejectInvalidSubmission } from '../../services/address-guard.js';
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

const SubmitHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        'Makes the submission safe to retry: the same key with the same body within 24 h answers with the ' +
        'first job instead of creating another (per application)',
    }),
  ),
});

declare module 'fastify' {
  interface FastifyRequest {
    /** The job a POST /api/jobs accepted, for the access log line. */
    acceptedJobId: string | null;
  }
}

const jobsRoutes: FastifyPluginAsyncTypebox<{ networkAllowlist: NetworkAllowlist }> = async (app, options) => {
  app.decorateRequest('acceptedJobId', null);

  /** Records, publishes and answers one new job. */
  async function acceptJob(
    request: FastifyRequest,
    spec: JobSpec,
  ): Promise<StoredAnswer<Static<typeof JobAcceptedSchema>, 202>> {
    const jobs = request.jobs;
    const jobId = randomUUID();
    const createdAt = new Date();
    const traceId = traceIdOf(request.headers.traceparent);
    try {
      await jobs.create({ jobId, spec, createdAt, requestId: request.id, traceId });
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
      application: jobs.application,
    };
    try {
      await app.jobQueue.publish(message);
    } catch (err) {
      // No confirm: take the record back so no job claims to be queued. If
      // the confirm was merely late, the worker recreates the record from
      // the message (see README, delivery guarantees).
      await jobs.delete(jobId, spec).catch((delErr: unknown) => {
        request.log.error({ err: delErr, jobId }, 'could not remove the record of a job that was not queued');
      });
      throw unavailable('RabbitMQ', err);
    }
    // Named in the request's access line ('request done'), not a line of its own.
    request.acceptedJobId = jobId;
    return {
      statusCode: 202,
      headers: { location: `/api/job/${jobId}` },
      body: { jobId, status: JobStatus.queued, message: 'Job accepted for processing' },
    };
  }

  app.post(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job',
        headers: SubmitHeadersSchema,
        body: JobSpecSchema,
        response: {
          202: JobAcceptedSchema,
          400: ErrorBodySchema,
          401: ErrorBodySchema,
          409: ErrorBodySchema,
          413: ErrorBodySchema,
          422: ErrorBodySchema,
          429: ErrorBodySchema,
          503: ErrorBodySchema,
        },
      },
      // The handler reports schema problems together with forbidden addresses.
      attachValidation: true,
      // A route hook also sees the 400/413/415 answered before the handler runs.
      onResponse: async (request, reply) => {
        const application = request.principal?.kind === 'application' ? request.principal.application.id : 'none';
        if (reply.statusCode === 202) app.metrics.jobsAccepted.inc({ application });
        else app.metrics.jobsRejected.inc({ reason: rejectionReason(reply.statusCode) });
      },
    },
    async (request, reply) => {
      rejectInvalidSubmission(request, options.networkAllowlist);
      const spec = request.body;
      const idempotencyKey = request.headers['idempotency-key'];
      const answer = idempotencyKey
        ? await new Idempotency(app.redis, request.jobs.keys, request.log)
            .run(idempotencyKey, spec, () => acceptJob(request, spec))
            .catch((err: unknown) => {
              if (err instanceof RelayError) throw err;
              throw unavailable('Redis', err);
            })
        : { ...(await acceptJob(request, spec)), replayed: false };
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
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
      const page = await searchJobs(request.jobs, toFilter(query), query.limit, parseCursor(query.cursor)).catch(
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
      const job = await request.jobs.get(request.params.jobId).catch((err: unknown) => {
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
      const page = await request.jobs.attemptsPage(request.params.jobId, offset, limit).catch((err: unknown) => {
        throw unavailable('Redis', err);
      });
      if (!page) throw new RelayError('JOB_NOT_FOUND');
      const next = offset + limit;
      return { ...page, nextOffset: next < page.total ? next : null };
    },
  );
};

export default jobsRoutes;

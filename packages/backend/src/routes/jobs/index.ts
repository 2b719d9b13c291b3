import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { JobSpecSchema, JobStatus, RelayError, type AttemptMessage } from '@relay/common';
import { ErrorBodySchema, JobAcceptedSchema, JobIdParamsSchema, JobViewSchema } from './schemas.js';

/** Wraps a backing-service failure as a 503 so the client knows to retry. */
function unavailable(what: string, cause: unknown): RelayError {
  return new RelayError('UNAVAILABLE', {
    message: `${what} is unavailable; the job was not accepted, retry later`,
    headers: { 'retry-after': '1' },
    cause,
  });
}

const jobsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/jobs',
    {
      schema: {
        body: JobSpecSchema,
        response: { 202: JobAcceptedSchema, 400: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const spec = request.body;
      const jobId = randomUUID();
      const createdAt = new Date().toISOString();
      try {
        await app.jobStore.create(jobId, spec, createdAt);
      } catch (err) {
        throw unavailable('Redis', err);
      }
      const message: AttemptMessage = { v: 1, kind: 'attempt', jobId, attempt: 1, dueAt: 0, createdAt, spec };
      try {
        await app.jobQueue.publish(message);
      } catch (err) {
        // No confirm: take the record back so no job claims to be queued. If
        // the confirm was merely late, the worker recreates the record from
        // the message (see README, delivery guarantees).
        await app.jobStore.delete(jobId).catch((delErr: unknown) => {
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

  const getJob = {
    schema: {
      params: JobIdParamsSchema,
      response: { 200: JobViewSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema },
    },
  };
  for (const url of ['/api/job/:jobId', '/api/jobs/:jobId']) {
    app.get(url, getJob, async (request) => {
      const job = await app.jobStore.get(request.params.jobId).catch((err: unknown) => {
        throw new RelayError('UNAVAILABLE', { message: 'Redis is unavailable, retry later', cause: err });
      });
      if (!job)
        throw new RelayError('JOB_NOT_FOUND', { message: `No job ${request.params.jobId} (it may have expired)` });
      return job;
    });
  }
};

export default jobsRoutes;

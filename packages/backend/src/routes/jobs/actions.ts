import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cancelJob, replayJob } from '../../services/job-actions.js';
import { ErrorBodySchema } from '@relay/common';
import { CancelResultSchema, JobAcceptedSchema, JobIdParamsSchema } from './schemas.js';

/** Cancel and replay of one job. */
const jobActionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const cancel = {
    schema: {
      tags: ['jobs'],
      summary: 'Cancel a queued or retrying job (a running one ends after its current attempt)',
      params: JobIdParamsSchema,
      response: {
        200: CancelResultSchema,
        202: CancelResultSchema,
        400: ErrorBodySchema,
        404: ErrorBodySchema,
        409: ErrorBodySchema,
        503: ErrorBodySchema,
      },
    },
  };
  const handler = async (request: FastifyRequest<{ Params: { jobId: string } }>, reply: FastifyReply) => {
    const result = await cancelJob(app, request.jobs, request.params.jobId);
    reply.code(result.status === 'cancelled' ? 200 : 202);
    return result;
  };
  app.post('/api/job/:jobId/cancel', cancel, handler);
  app.delete('/api/job/:jobId', cancel, handler);

  app.post(
    '/api/job/:jobId/replay',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Re-run a failed or cancelled job as a new series of attempts under the same id',
        params: JobIdParamsSchema,
        response: {
          202: JobAcceptedSchema,
          400: ErrorBodySchema,
          404: ErrorBodySchema,
          409: ErrorBodySchema,
          422: ErrorBodySchema,
          503: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      await replayJob(app, request.jobs, request.params.jobId, request.id);
      return reply
        .code(202)
        .header('location', `/api/job/${request.params.jobId}`)
        .send({ jobId: request.params.jobId, status: 'queued', message: 'Job replayed' });
    },
  );
};

export default jobActionRoutes;

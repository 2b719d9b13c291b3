import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { AcceptUncertainError, ErrorBodySchema, JobSpecSchema, JobStatus, type NetworkAllowlist } from '@relay/common';
import { rejectionReason } from '../../plugins/metrics.js';
import { acceptJob } from '../../services/accept-job.js';
import {
  Idempotency,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_TTL_SECONDS,
  type StoredAnswer,
} from '../../services/idempotency.js';
import { rejectInvalidSubmission } from '../../services/submission-guard.js';
import { traceIdOf } from '../../services/tracing.js';
import { JobAcceptedSchema } from './schemas.js';

const SubmitHeadersSchema = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        'Makes the submission safe to retry: the same key with the same body within ' +
        `${IDEMPOTENCY_TTL_SECONDS / 3600} h answers with the ` +
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

/** The answer to an accepted job, as stored for an idempotent replay. */
function acceptedAnswer(jobId: string): StoredAnswer<Static<typeof JobAcceptedSchema>, 202> {
  return {
    statusCode: 202,
    headers: { location: `/api/job/${jobId}` },
    body: { jobId, status: JobStatus.queued, message: 'Job accepted for processing' },
  };
}

/** POST /api/jobs: validation (schema and forbidden addresses), idempotency, then the job service. */
const submitRoutes: FastifyPluginAsyncTypebox<{
  networkAllowlist: NetworkAllowlist;
  /** Keys Idempotency-Key fingerprints (fingerprint-key.ts). */
  fingerprintKey: Buffer;
}> = async (app, options) => {
  app.decorateRequest('acceptedJobId', null);

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
          403: ErrorBodySchema,
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
        if (reply.statusCode === 202)
          app.metrics.jobsAccepted.inc({ application: app.metrics.applicationLabel(application) });
        else app.metrics.jobsRejected.inc({ reason: rejectionReason(reply.statusCode) });
      },
    },
    async (request, reply) => {
      rejectInvalidSubmission(request, options.networkAllowlist);
      const spec = request.body;
      const accept = async () => {
        const submission = { spec, requestId: request.id, traceId: traceIdOf(request.headers.traceparent) };
        const { jobId } = await acceptJob(app.jobQueue, request.jobs, submission, request.log, app.jobEvents).catch((err: unknown) => {
          // The job may run: a retry with the same Idempotency-Key gets it.
          if (err instanceof AcceptUncertainError) err.answer = acceptedAnswer(err.jobId);
          throw err;
        });
        // Named in the request's access line ('request done'), not a line of its own.
        request.acceptedJobId = jobId;
        return acceptedAnswer(jobId);
      };
      const idempotencyKey = request.headers['idempotency-key'];
      const answer = idempotencyKey
        ? await new Idempotency(app.redis, request.jobs.keys, request.log, options.fingerprintKey).run(idempotencyKey, spec, accept)
        : { ...(await accept()), replayed: false };
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
    },
  );
};

export default submitRoutes;

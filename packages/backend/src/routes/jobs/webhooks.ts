import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ErrorBodySchema,
  HttpUrl,
  JobViewSchema,
  RelayError,
  setJobWebhooks,
  webhookProperties,
  type NetworkAllowlist,
} from '@relay/common';
import { rejectInvalidSubmission, webhooksChangeUrls } from '../../services/submission-guard.js';
import { JobIdParamsSchema } from './schemas.js';

export const WebhooksChangeSchema = Type.Object(
  {
    webhooks: Type.Object(webhookProperties(Type.Union([HttpUrl, Type.Null()])), {
      additionalProperties: false,
      minProperties: 1,
      description: 'Keys to set (an event, "progress" or "*", to a URL) or to remove (null)',
    }),
  },
  { additionalProperties: false },
);

const WebhooksResultSchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  webhooks: JobViewSchema.properties.webhooks,
});

/**
 * POST /api/job/:jobId/webhooks (and /api/jobs/:jobId/webhooks, the seed's
 * name): adds, changes or removes webhooks of an unfinished job. URLs get the
 * submission's SSRF and user-info checks. Events already emitted are not sent
 * again to a new URL.
 */
const jobWebhookRoutes: FastifyPluginAsyncTypebox<{ networkAllowlist: NetworkAllowlist }> = async (app, options) => {
  const route = {
    schema: {
      tags: ['jobs'],
      summary: 'Add, change or remove (null) webhooks of an unfinished job',
      params: JobIdParamsSchema,
      body: WebhooksChangeSchema,
      response: {
        200: WebhooksResultSchema,
        400: ErrorBodySchema,
        404: ErrorBodySchema,
        409: ErrorBodySchema,
        503: ErrorBodySchema,
      },
    },
    attachValidation: true,
  };
  for (const url of ['/api/job/:jobId/webhooks', '/api/jobs/:jobId/webhooks']) {
    app.post(url, route, async (request) => {
      rejectInvalidSubmission(request, options.networkAllowlist, webhooksChangeUrls);
      const { jobId } = request.params;
      const result = await setJobWebhooks(request.jobs, jobId, request.body.webhooks);
      if (result.outcome === 'missing')
        throw new RelayError('JOB_NOT_FOUND', { message: `No job ${jobId} (it may have expired)` });
      if (result.outcome === 'final') {
        throw new RelayError('JOB_FINISHED', {
          message: `The job is already ${result.status}: its webhooks can no longer change`,
          details: [{ path: '/status', message: result.status }],
        });
      }
      return { jobId, webhooks: result.webhooks };
    });
  }
};

export default jobWebhookRoutes;

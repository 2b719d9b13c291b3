import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ErrorBodySchema,
  RelayError,
  SubscriptionCreateSchema,
  SubscriptionPatchSchema,
  SubscriptionSchema,
  type NetworkAllowlist,
} from '@relay/common';
import { rejectInvalidSubmission, subscriptionUrls } from '../../services/submission-guard.js';
import { SubscriptionIdParamsSchema, SubscriptionListSchema } from './schemas.js';

const tags = ['subscriptions'];
const errors = { 400: ErrorBodySchema, 503: ErrorBodySchema };

function notFound(id: string): RelayError {
  return new RelayError('SUBSCRIPTION_NOT_FOUND', { message: `No subscription ${id}` });
}

/**
 * An application's event subscriptions (docs/events.md), with the same
 * authentication as jobs: the application of the API key (RELAY_AUTH=off:
 * the default application). URLs get the submission's SSRF and user-info
 * checks; a change reaches the workers' indexes within about a second
 * (subscription-cache.ts).
 */
const subscriptionRoutes: FastifyPluginAsyncTypebox<{ networkAllowlist: NetworkAllowlist }> = async (app, options) => {
  app.post(
    '/api/subscriptions',
    {
      schema: {
        tags,
        summary: "Subscribe an endpoint to events of the application's jobs",
        body: SubscriptionCreateSchema,
        response: { 201: SubscriptionSchema, ...errors, 409: ErrorBodySchema },
      },
      // The handler reports schema problems together with forbidden addresses.
      attachValidation: true,
    },
    async (request, reply) => {
      rejectInvalidSubmission(request, options.networkAllowlist, subscriptionUrls);
      const created = await app.subscriptions.create(request.jobs.application, request.body);
      request.log.info({ subscriptionId: created.id }, 'subscription created');
      return reply.code(201).header('location', `/api/subscriptions/${created.id}`).send(created);
    },
  );

  app.get(
    '/api/subscriptions',
    {
      schema: {
        tags,
        summary: "The application's subscriptions, oldest first",
        response: { 200: SubscriptionListSchema, 503: ErrorBodySchema },
      },
    },
    async (request) => ({ subscriptions: await app.subscriptions.list(request.jobs.application) }),
  );

  app.get(
    '/api/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'One subscription',
        params: SubscriptionIdParamsSchema,
        response: { 200: SubscriptionSchema, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const found = await app.subscriptions.get(request.jobs.application, request.params.id);
      if (!found) throw notFound(request.params.id);
      return found;
    },
  );

  app.patch(
    '/api/subscriptions/:id',
    {
      schema: {
        tags,
        summary:
          'Change a subscription; enabled: true re-enables it and clears its failing run, enabled: false disables it (manual)',
        params: SubscriptionIdParamsSchema,
        body: SubscriptionPatchSchema,
        response: { 200: SubscriptionSchema, ...errors, 404: ErrorBodySchema },
      },
      attachValidation: true,
    },
    async (request) => {
      rejectInvalidSubmission(request, options.networkAllowlist, subscriptionUrls);
      const updated = await app.subscriptions.update(request.jobs.application, request.params.id, request.body);
      if (!updated) throw notFound(request.params.id);
      return updated;
    },
  );

  app.delete(
    '/api/subscriptions/:id',
    {
      schema: {
        tags,
        summary: 'Delete a subscription and its delivery log',
        params: SubscriptionIdParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errors, 404: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      if (!(await app.subscriptions.delete(request.jobs.application, request.params.id)))
        throw notFound(request.params.id);
      return reply.code(204).send(null);
    },
  );
};

export default subscriptionRoutes;

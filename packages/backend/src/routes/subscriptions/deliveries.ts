import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema } from '@relay/common';
import { resendOne, resendSince, subscriptionOrThrow } from '../../services/resend-deliveries.js';
import {
  DeliveriesQuerySchema,
  DeliveryPageLimits,
  DeliveryPageSchema,
  DeliveryParamsSchema,
  MAX_RESEND_PER_CALL,
  ResendOneResultSchema,
  ResendSinceBodySchema,
  ResendSinceResultSchema,
  SubscriptionIdParamsSchema,
} from './schemas.js';

const tags = ['subscriptions'];
const errors = { 400: ErrorBodySchema, 404: ErrorBodySchema, 503: ErrorBodySchema };

/** A subscription's delivery log, and resending from it. */
const deliveryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/subscriptions/:id/deliveries',
    {
      schema: {
        tags,
        summary: "A page of the subscription's delivery log, newest first",
        description:
          'One entry per event delivered (or being delivered) to the subscription, kept as long as jobs ' +
          `(JOB_TTL_SECONDS). Pages: \`limit\` (default ${DeliveryPageLimits.default}, max ` +
          `${DeliveryPageLimits.max}) and \`cursor\` (the \`nextCursor\` of the previous page); \`status\` filters.`,
        params: SubscriptionIdParamsSchema,
        querystring: DeliveriesQuerySchema,
        response: { 200: DeliveryPageSchema, ...errors },
      },
    },
    async (request) => {
      const application = request.jobs.application;
      await subscriptionOrThrow(app, application, request.params.id);
      const { limit, cursor, status } = request.query;
      return app.deliveryLog.page(application, request.params.id, {
        limit,
        cursor: cursor ?? null,
        ...(status ? { status } : {}),
      });
    },
  );

  app.post(
    '/api/subscriptions/:id/deliveries/:deliveryId/resend',
    {
      schema: {
        tags,
        summary: "Send a delivery again, to the subscription's current URL, under the same webhook-id",
        params: DeliveryParamsSchema,
        response: { 202: ResendOneResultSchema, ...errors, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      await resendOne(app, request.jobs.application, request.params.id, request.params.deliveryId);
      return reply.code(202).send({ resent: 1 as const });
    },
  );

  app.post(
    '/api/subscriptions/:id/deliveries/resend',
    {
      schema: {
        tags,
        summary: `Send again every failed delivery of events since a time (at most ${MAX_RESEND_PER_CALL} per call)`,
        params: SubscriptionIdParamsSchema,
        body: ResendSinceBodySchema,
        response: { 202: ResendSinceResultSchema, ...errors, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const result = await resendSince(app, request.jobs.application, request.params.id, {
        sinceMs: Date.parse(request.body.since),
        status: request.body.status,
        max: MAX_RESEND_PER_CALL,
      });
      return reply.code(202).send(result);
    },
  );
};

export default deliveryRoutes;

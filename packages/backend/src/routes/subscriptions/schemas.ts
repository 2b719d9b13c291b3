import { Type } from 'typebox';
import { EventDeliverySchema, EventDeliveryStatusSchema, SubscriptionSchema } from '@relay/common';

export const SubscriptionIdParamsSchema = Type.Object(
  { id: Type.String({ pattern: '^sub_[0-9a-f]{24}$', description: 'The id from POST /api/subscriptions' }) },
  { additionalProperties: false },
);

export const DeliveryParamsSchema = Type.Object(
  {
    id: Type.String({ pattern: '^sub_[0-9a-f]{24}$', description: 'The subscription' }),
    deliveryId: Type.String({
      pattern: '^msg_[A-Za-z0-9_-]{1,120}$',
      description: "The delivery's id (its webhook-id)",
    }),
  },
  { additionalProperties: false },
);

export const SubscriptionListSchema = Type.Object({ subscriptions: Type.Array(SubscriptionSchema) });

export const DeliveryPageLimits = { default: 50, max: 500 } as const;

/**
 * A bulk resend sends at most this many deliveries per call: each waits for
 * a publisher confirm, and the call must end before a client's timeout.
 */
export const MAX_RESEND_PER_CALL = 1000;

export const DeliveriesQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: DeliveryPageLimits.max, default: DeliveryPageLimits.default }),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
    status: Type.Optional(EventDeliveryStatusSchema),
  },
  { additionalProperties: false },
);

export const DeliveryPageSchema = Type.Object({
  deliveries: Type.Array(EventDeliverySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null at the end',
  }),
});

export const ResendOneResultSchema = Type.Object({ resent: Type.Literal(1) });

export const ResendSinceBodySchema = Type.Object(
  {
    since: Type.String({ format: 'date-time', description: 'Deliveries of events from this time on (ISO 8601)' }),
    status: Type.Literal('failed', {
      default: 'failed',
      description: 'Only failed deliveries are re-sent in bulk',
    }),
  },
  { additionalProperties: false },
);

export const ResendSinceResultSchema = Type.Object({
  resent: Type.Integer({ minimum: 0 }),
  more: Type.Boolean({
    description: `More deliveries match than one call re-sends (${MAX_RESEND_PER_CALL}): call again`,
  }),
});

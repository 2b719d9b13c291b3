import { Type, type Static } from 'typebox';
import {
  caseInsensitiveAlternation,
  HEADER_NAME_PATTERN,
  HEADER_VALUE_PATTERN,
  HttpUrl,
  JobStatusSchema,
  MetadataSchema,
  RESERVED_HEADER_NAMES,
} from '../job-schema.js';
import { EVENT_NAMES } from './event-names.js';

/**
 * Subscriptions: an application's standing order for events of its jobs,
 * filtered, delivered to one endpoint (docs/events.md). Stored per
 * application (subscription-store.ts), matched through an index by event and
 * filter key (subscription-index.ts), never by scanning every subscription.
 */

export const SubscriptionLimits = {
  /** Subscriptions one application may have. */
  maxPerApplication: 1000,
  maxHeaders: 16,
  maxNameLength: 128,
} as const;

export const SubscriptionEventsSchema = Type.Array(Type.Union([Type.Enum(EVENT_NAMES), Type.Literal('*')]), {
  minItems: 1,
  maxItems: EVENT_NAMES.length + 1,
  uniqueItems: true,
  description: 'Events to deliver; "*" is every job event (endpoint.disabled must be named)',
});

export const SubscriptionFiltersSchema = Type.Object(
  {
    metadata: Type.Optional(MetadataSchema),
    host: Type.Optional(
      Type.String({ minLength: 1, maxLength: 253, description: "The job's target host (lower-case, no port)" }),
    ),
    status: Type.Optional(
      Type.Array(JobStatusSchema, { minItems: 1, uniqueItems: true, description: "The job's status after the event" }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Every filter given must hold (metadata: every key equal); none given matches every job',
  },
);
export type SubscriptionFilters = Static<typeof SubscriptionFiltersSchema>;

/**
 * Headers a subscription may not set: those a job may not set (hop-by-hop),
 * and those every delivery carries: its content type, the Standard Webhooks
 * signature headers and X-Job-Id / X-Job-Status (a receiver trusts them).
 */
export const SUBSCRIPTION_RESERVED_HEADER_PATTERN = caseInsensitiveAlternation([
  ...RESERVED_HEADER_NAMES,
  'content-type',
  'webhook-.*',
  'x-job-.*',
]);

export const SubscriptionHeadersSchema = Type.Record(
  Type.String({ pattern: HEADER_NAME_PATTERN }),
  Type.String({ pattern: HEADER_VALUE_PATTERN, maxLength: 1024 }),
  {
    additionalProperties: false,
    maxProperties: SubscriptionLimits.maxHeaders,
    propertyNames: { not: { pattern: SUBSCRIPTION_RESERVED_HEADER_PATTERN } },
    description:
      'Sent with every delivery; cannot set content-type, webhook-*, X-Job-* or hop-by-hop headers (host, connection, ...)',
  },
);

/** The fields a client sets, create and patch alike. */
const subscriptionFields = {
  name: Type.String({ minLength: 1, maxLength: SubscriptionLimits.maxNameLength }),
  url: HttpUrl,
  events: SubscriptionEventsSchema,
  filters: Type.Optional(SubscriptionFiltersSchema),
  headers: Type.Optional(SubscriptionHeadersSchema),
};

export const SubscriptionCreateSchema = Type.Object(
  { ...subscriptionFields, enabled: Type.Optional(Type.Boolean({ default: true })) },
  { additionalProperties: false },
);
export type SubscriptionCreate = Static<typeof SubscriptionCreateSchema>;

// `enabled` without the create's default: a patch that leaves it out must
// not re-enable a disabled subscription.
export const SubscriptionPatchSchema = Type.Partial(Type.Object({ ...subscriptionFields, enabled: Type.Boolean() }), {
  additionalProperties: false,
  minProperties: 1,
});
export type SubscriptionPatch = Static<typeof SubscriptionPatchSchema>;

export const SubscriptionSchema = Type.Object({
  id: Type.String({ pattern: '^sub_[0-9a-f]{24}$' }),
  application: Type.String(),
  name: Type.String(),
  url: Type.String(),
  events: SubscriptionEventsSchema,
  filters: SubscriptionFiltersSchema,
  headers: Type.Record(Type.String(), Type.String()),
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.Literal('manual'), Type.Literal('endpoint_failing'), Type.Null()]),
  disabledAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** Start of the current run of failed deliveries; null while the endpoint answers. */
  failingSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Subscription = Static<typeof SubscriptionSchema>;

export const EventDeliveryStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('retrying'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);
export type EventDeliveryStatus = Static<typeof EventDeliveryStatusSchema>;

/** One event's delivery to one subscription, as the delivery log shows it. Its id is its webhook-id. */
export const EventDeliverySchema = Type.Object({
  id: Type.String(),
  subscriptionId: Type.String(),
  jobId: Type.Union([Type.String(), Type.Null()]),
  event: Type.Enum(EVENT_NAMES),
  sequence: Type.Integer(),
  status: EventDeliveryStatusSchema,
  attempts: Type.Integer({ minimum: 0 }),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type EventDelivery = Static<typeof EventDeliverySchema>;

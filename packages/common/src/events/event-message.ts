import { Type, type Static } from 'typebox';
import { AttemptErrorSchema, HttpUrl, JobStatusSchema, MetadataSchema, StoredResponseSchema } from '../job-schema.js';
import { MESSAGE_VERSION, MessageLimits } from '../messages/types.js';
import { EVENT_NAMES } from './event-names.js';

/**
 * The JSON body POSTed to a webhook or subscription endpoint for one event.
 * `result` (completed), `error` (retrying, failed, dead_lettered, cancelled
 * when known) or `attempt` (started, retrying) as fits; `subscription` is set
 * on endpoint.disabled only.
 */
export const EventBodySchema = Type.Object(
  {
    jobId: Type.Union([Type.String(), Type.Null()], { description: 'null for application events' }),
    event: Type.Enum(EVENT_NAMES),
    status: Type.Union([JobStatusSchema, Type.Null()], { description: "The job's status after the event" }),
    timestamp: Type.String({ format: 'date-time', description: 'When the state changed' }),
    sequence: Type.Integer({
      minimum: 0,
      description: 'Per-job order of events: larger is later; numbers have gaps (docs/events.md)',
    }),
    application: Type.String(),
    metadata: Type.Record(Type.String(), Type.String()),
    attempt: Type.Optional(
      Type.Object({
        number: Type.Integer({ minimum: 1 }),
        statusCode: Type.Union([Type.Integer(), Type.Null()]),
        nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      }),
    ),
    result: Type.Optional(
      Type.Object({ statusCode: Type.Union([Type.Integer(), Type.Null()]), response: Type.Union([StoredResponseSchema, Type.Null()]) }),
    ),
    error: Type.Optional(Type.Union([AttemptErrorSchema, Type.Null()])),
    subscription: Type.Optional(Type.Object({ id: Type.String(), name: Type.String(), reason: Type.String() })),
  },
  { additionalProperties: false },
);
export type EventBody = Static<typeof EventBodySchema>;

/** Where one event goes: a subscription, or a URL of the job's own webhooks map. */
export const EventDestinationSchema = Type.Object(
  {
    kind: Type.Union([Type.Literal('subscription'), Type.Literal('webhook')]),
    /** Subscription id, or the webhook URL again (kind webhook). */
    id: Type.String({ maxLength: 2048 }),
    url: HttpUrl,
    /** Standard Webhooks `webhook-id` (eventWebhookId): the same on every retry and duplicate. */
    webhookId: Type.String({ pattern: '^msg_[A-Za-z0-9_-]{1,120}$' }),
    /** 1-based delivery number to this destination. */
    delivery: Type.Integer(MessageLimits.delivery),
  },
  { additionalProperties: false },
);
export type EventDestination = Static<typeof EventDestinationSchema>;

/**
 * One event on the events queue, with every destination it goes to. Its
 * first delivery goes to all of them at once; a destination that failed gets
 * its own copy (one destination, delivery + 1) through the delay tiers.
 * Published only when at least one destination wants the event: a job nobody
 * listens to costs no message.
 */
export const EventMessageSchema = Type.Object(
  {
    v: Type.Literal(MESSAGE_VERSION),
    kind: Type.Literal('event'),
    application: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    dueAt: Type.Number(MessageLimits.dueAt),
    body: EventBodySchema,
    destinations: Type.Array(EventDestinationSchema, { minItems: 1, maxItems: 1100 }),
    failures: Type.Optional(
      Type.Object(
        { step: Type.Integer({ minimum: 1 }), count: Type.Integer(MessageLimits.failures) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type EventMessage = Static<typeof EventMessageSchema>;

// The per-job webhooks map is part of the job spec, so job-schema.ts defines
// it (that file importing this one would make a cycle); exported here too.
export { WebhooksSchema, type Webhooks } from '../job-schema.js';

import { Type, type Static } from 'typebox';
import { CallbackBodySchema, HttpUrl, JobSpecSchema } from '../job-schema.js';

/**
 * The shape version every work message carries as `v`. A message of another
 * version is not read (decodeMessage returns null): a change of shape bumps
 * it, and its reader goes in the codec.
 */
export const MESSAGE_VERSION = 1;

/**
 * Bounds a message must keep to be read. A message is decoded before anything
 * looks at Redis, so these are what stands between a forged or corrupt
 * message and the Lua scripts: an attempt number in the millions would make
 * record-attempt pad the attempt log up to it.
 */
export const MessageLimits = {
  /**
   * Highest attempt number of any series. A series has at most maxRetries + 1
   * attempts after `seriesBase` (checked in the codec); this ceiling bounds
   * the base too, i.e. how many replays' worth of attempts one job may carry.
   */
  attempt: { minimum: 1, maximum: 10_000 },
  /** Highest delivery number of a callback: the largest CALLBACK_MAX_ATTEMPTS allowed. */
  delivery: { minimum: 1, maximum: 30 },
  /** Handling failures a message may carry (see POISON_MAX_FAILURES). */
  failures: { minimum: 1, maximum: 100 },
  /** Epoch ms; year 2286 at most. */
  dueAt: { minimum: 0, maximum: 9_999_999_999_999 },
  /**
   * Deepest nesting of a whole message: the largest JSON_MAX_DEPTH of a
   * payload or a recorded response, plus the levels of the message around it.
   * A message nested deeper could not be encoded again (to defer or
   * dead-letter it), so it is refused as corrupt.
   */
  jsonDepth: { payload: 1000, envelope: 8 },
} as const;

const JobId = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const ApplicationId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const DueAt = Type.Number({ ...MessageLimits.dueAt, description: 'Epoch ms; 0 means now' });

/**
 * Times this message was held back because its host or application was at its
 * fairness cap (worker HOST_CONCURRENCY, APPLICATION_CONCURRENCY); it sets how
 * long the next hold waits. Absent when never held back.
 */
const FairnessDeferrals = Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 }));

/**
 * Failures of handling this message so far, for the step (attempt or
 * delivery number) it was at: a copy that moved on to the next step starts
 * again from none, so the count needs no reset where steps are scheduled.
 */
const HandlingFailures = Type.Optional(
  Type.Object(
    { step: Type.Integer({ minimum: 1 }), count: Type.Integer(MessageLimits.failures) },
    { additionalProperties: false },
  ),
);

/**
 * Run attempt `attempt` (1-based) of a job, not before `dueAt`. Each message
 * is self-contained (it carries the whole job spec, headers included) so that
 * a job survives the loss of its Redis record: the broker, not Redis, is the
 * durable copy of work to do.
 */
export const AttemptMessageSchema = Type.Object(
  {
    v: Type.Literal(MESSAGE_VERSION),
    kind: Type.Literal('attempt'),
    jobId: JobId,
    attempt: Type.Integer(MessageLimits.attempt),
    dueAt: DueAt,
    createdAt: Type.String({ maxLength: 64 }),
    spec: JobSpecSchema,
    /**
     * Attempts made before the current series: 0 at first, the attempt count
     * at the time of a replay after it. The retry budget counts from here.
     */
    seriesBase: Type.Integer({ minimum: 0, maximum: MessageLimits.attempt.maximum - 1 }),
    /** x-request-id of the submitting (or replaying) request. */
    requestId: Type.Union([Type.String({ maxLength: 128 }), Type.Null()]),
    /** W3C trace id; each attempt sends `traceparent: 00-<traceId>-<new span>-01`. */
    traceId: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    /** Id of the application that owns the job (DEFAULT_APPLICATION without auth). */
    application: ApplicationId,
    failures: HandlingFailures,
    fairnessDeferrals: FairnessDeferrals,
    /**
     * The job's credential headers, sealed for this job and application
     * (secrets.ts, message-credentials.ts) when RELAY_SECRET_KEY is set; in
     * `spec.headers` their values are then `[redacted]`. Absent otherwise. The
     * bound holds the largest header block (HeaderLimits) JSON-escaped and in base64.
     */
    sealedHeaders: Type.Optional(Type.String({ maxLength: 131_072 })),
  },
  { additionalProperties: false },
);
export type AttemptMessage = Static<typeof AttemptMessageSchema>;

/** Deliver a finished job's result to its callback URL (delivery is 1-based). */
export const CallbackMessageSchema = Type.Object(
  {
    v: Type.Literal(MESSAGE_VERSION),
    kind: Type.Literal('callback'),
    jobId: JobId,
    delivery: Type.Integer(MessageLimits.delivery),
    dueAt: DueAt,
    callbackUrl: HttpUrl,
    body: CallbackBodySchema,
    /** Id of the application that owns the job: whose secrets sign the delivery. */
    application: ApplicationId,
    /**
     * Standard Webhooks `webhook-id` of this result: the same on every delivery
     * of it (retries copy the message), so receivers can drop duplicates.
     */
    webhookId: Type.String({ pattern: '^msg_[A-Za-z0-9_-]{1,120}$' }),
    failures: HandlingFailures,
    fairnessDeferrals: FairnessDeferrals,
  },
  { additionalProperties: false },
);
export type CallbackMessage = Static<typeof CallbackMessageSchema>;

/** What travels on the work queue. */
export const WorkMessageSchema = Type.Union([AttemptMessageSchema, CallbackMessageSchema]);
export type WorkMessage = AttemptMessage | CallbackMessage;

/** The highest attempt number the retry budget allows in the message's series. */
export function lastAttemptOfSeries(message: Pick<AttemptMessage, 'seriesBase' | 'spec'>): number {
  return message.seriesBase + message.spec.maxRetries + 1;
}

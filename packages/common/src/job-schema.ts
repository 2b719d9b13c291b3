import { Type, type Static, type TOptional, type TSchema } from 'typebox';
import { CallbackStatus, JOB_STATUSES, JobPriority } from './status.js';
import { WEBHOOK_KEYS, type WebhookKey } from './events/event-names.js';

/**
 * The job API's schemas. They are the only definition of the shapes: the
 * TypeScript types below come from them, the backend validates requests and
 * serialises responses with them.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * RFC 9110 token characters. Header names outside this set would be refused
 * by undici at send time, long after the client got its 202.
 */
export const HEADER_NAME_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/**
 * Tab, visible ASCII, space and Latin-1 (RFC 9110 §5.5 field-value, as undici
 * checks it at send time): no control character (CR, LF and NUL would allow
 * header injection), no DEL, nothing above U+00FF. Refused at submission so
 * the client gets a 400 rather than a 202 and a job that fails.
 */
export const HEADER_VALUE_PATTERN = '^[\\t\\x20-\\x7e\\x80-\\xff]*$';

/**
 * Headers that relay sets itself or that describe the connection rather than
 * the message (hop-by-hop). A job may not set them: undici would reject some
 * at send time and the others would corrupt framing.
 */
export const RESERVED_HEADER_NAMES = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
] as const;

/** `^(?:host|…)$` matching any letter case: JSON Schema patterns have no flags. */
export function caseInsensitiveAlternation(words: readonly string[]): string {
  const ci = (w: string) => [...w].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join(''); // only letters vary; '-', '.' and '*' stay as they are
  return `^(?:${words.map(ci).join('|')})$`;
}

export const RESERVED_HEADER_PATTERN = caseInsensitiveAlternation(RESERVED_HEADER_NAMES);

/** The longest URL relay takes (targetUrl, callbackUrl, a webhook, a subscription). */
export const URL_MAX_LENGTH = 2048;

export const HttpUrl = Type.String({
  format: 'uri',
  // Case-insensitive scheme and a non-empty authority: only http(s) is relayed.
  pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]+',
  maxLength: URL_MAX_LENGTH,
  description: 'Absolute http: or https: URL',
});

export const JobSpecLimits = {
  maxRetries: { minimum: 0, maximum: 10, default: 3 },
  retryDelay: { minimum: 100, maximum: 30_000, default: 1000 },
  timeout: { minimum: 100, maximum: 60_000, default: 10_000 },
} as const;

/**
 * Job headers. Each value is bounded by the schema; the total is bounded too
 * (names and values, UTF-8 bytes), because 64 values of 8 KiB would make a
 * 512 KiB header block that most servers refuse (Node's default limit is
 * 16 KiB) and that every copy of the message would carry. The total is
 * checked by the `x-maxTotalBytes` keyword, which the backend's validator
 * implements (JSON Schema cannot sum lengths).
 */
export const HeaderLimits = { maxCount: 64, maxValueLength: 8192, maxTotalBytes: 32_768 } as const;

/** Bytes of a header block as relay bounds it: every name and value, UTF-8. */
export function headerBytes(headers: Record<string, string>): number {
  let total = 0;
  for (const [name, value] of Object.entries(headers)) total += Buffer.byteLength(name) + Buffer.byteLength(value);
  return total;
}

/** Operator labels: small on purpose, they are indexed for search. */
export const MetadataLimits = { maxKeys: 16, keyPattern: '^[A-Za-z0-9_.-]{1,64}$', maxValueLength: 256 } as const;

export const MetadataSchema = Type.Record(
  Type.String({ pattern: MetadataLimits.keyPattern }),
  Type.String({ maxLength: MetadataLimits.maxValueLength }),
  {
    maxProperties: MetadataLimits.maxKeys,
    additionalProperties: false,
    description: 'String labels (keys: letters, digits, _ . -, at most 64; values at most 256 chars), searchable',
  },
);

/** One optional property per WEBHOOK_KEYS entry, each of schema `value`. */
export function webhookProperties<T extends TSchema>(value: T): { [K in WebhookKey]: TOptional<T> } {
  return Object.fromEntries(WEBHOOK_KEYS.map((key) => [key, Type.Optional(value)])) as {
    [K in WebhookKey]: TOptional<T>;
  };
}

/**
 * A job's own webhooks: a WEBHOOK_KEYS entry (an event, "progress" or "*")
 * to the URL that receives those events (events/event-names.ts).
 */
export const WebhooksSchema = Type.Object(webhookProperties(HttpUrl), {
  additionalProperties: false,
  description:
    'Event name (created, started, retrying, completed, failed, cancelled, dead_lettered, replayed), "progress" (started and retrying) or "*" (every event) to a URL',
});
export type Webhooks = Static<typeof WebhooksSchema>;

export const JobSpecSchema = Type.Object(
  {
    targetUrl: HttpUrl,
    method: Type.Enum(HTTP_METHODS, { default: 'GET' }),
    headers: Type.Record(
      Type.String({ pattern: HEADER_NAME_PATTERN }),
      Type.String({ pattern: HEADER_VALUE_PATTERN, maxLength: HeaderLimits.maxValueLength }),
      // additionalProperties: false turns a name that fails the pattern into an error.
      {
        default: {},
        maxProperties: HeaderLimits.maxCount,
        'x-maxTotalBytes': HeaderLimits.maxTotalBytes,
        description:
          'Headers sent to the target: at most 64, values at most 8 KiB, names and values at most 32 KiB in all (x-maxTotalBytes)',
        additionalProperties: false,
        propertyNames: { not: { pattern: RESERVED_HEADER_PATTERN } },
      },
    ),
    payload: Type.Unknown({
      default: null,
      description: 'Any JSON value; sent as a JSON body for methods that carry one',
    }),
    callbackUrl: Type.Optional(HttpUrl),
    webhooks: Type.Optional(WebhooksSchema),
    maxRetries: Type.Integer({ ...JobSpecLimits.maxRetries, description: 'Retries after the first attempt' }),
    retryDelay: Type.Integer({ ...JobSpecLimits.retryDelay, description: 'Base of the exponential backoff, in ms' }),
    timeout: Type.Integer({
      ...JobSpecLimits.timeout,
      description: 'Per-attempt deadline in ms (connect, headers and body)',
    }),
    metadata: Type.Optional(MetadataSchema),
    priority: Type.Enum(Object.values(JobPriority), {
      default: 'normal',
      description: 'high jobs are taken before normal, normal before low',
    }),
  },
  { additionalProperties: false },
);

/** A validated job spec with every default applied. */
export type JobSpec = Static<typeof JobSpecSchema>;

export const JobStatusSchema = Type.Enum(JOB_STATUSES);

/** What relay stored of a target's (or callback's) response body. */
export const StoredResponseSchema = Type.Object({
  statusCode: Type.Integer(),
  headers: Type.Record(Type.String(), Type.String()),
  /** JSON-parsed when the body was complete JSON, else the text. */
  body: Type.Unknown(),
  /** True when the body was longer than the stored cap and was cut. */
  truncated: Type.Boolean(),
  bodyBytes: Type.Integer({ description: 'Bytes of body read (at most the cap + 1)' }),
});
export type StoredResponse = Static<typeof StoredResponseSchema>;

/**
 * An error recorded in a job (an attempt's or a callback delivery's). `code`
 * is always one of relay's stable RELAY_ERR_* codes (errors.ts); the code the
 * system or undici gave, when there was one, is `systemCode`.
 */
export const AttemptErrorSchema = Type.Object({
  code: Type.String({
    description: 'Stable relay error code (RELAY_ERR_*), e.g. RELAY_ERR_TIMEOUT or RELAY_ERR_NETWORK',
  }),
  message: Type.String({ description: 'For humans; may change' }),
  systemCode: Type.Optional(
    Type.String({
      description: 'The code of the underlying system or HTTP client error, e.g. ECONNREFUSED or UND_ERR_SOCKET',
    }),
  ),
});
export type AttemptError = Static<typeof AttemptErrorSchema>;

export const AttemptSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Number(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  success: Type.Boolean(),
  response: Type.Union([StoredResponseSchema, Type.Null()]),
  error: Type.Union([AttemptErrorSchema, Type.Null()]),
  retryable: Type.Boolean(),
});
export type Attempt = Static<typeof AttemptSchema>;

export const CallbackStateSchema = Type.Object({
  status: Type.Enum(Object.values(CallbackStatus)),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  attempts: Type.Integer(),
  error: Type.Union([AttemptErrorSchema, Type.Null()]),
  lastAttemptAt: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
});
export type CallbackState = Static<typeof CallbackStateSchema>;

export const JobViewSchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  status: JobStatusSchema,
  attempts: Type.Integer(),
  targetUrl: Type.String(),
  method: Type.String(),
  headers: Type.Record(Type.String(), Type.String()),
  payload: Type.Unknown(),
  callbackUrl: Type.Union([Type.String(), Type.Null()]),
  webhooks: Type.Object(webhookProperties(Type.String()), {
    description: "The job's webhooks in effect (as changed by POST /api/job/:jobId/webhooks); {} when none",
  }),
  maxRetries: Type.Integer(),
  retryDelay: Type.Integer(),
  timeout: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  lastResponse: Type.Union([StoredResponseSchema, Type.Null()]),
  error: Type.Union([AttemptErrorSchema, Type.Null()]),
  attemptsLog: Type.Array(AttemptSchema),
  callback: Type.Union([CallbackStateSchema, Type.Null()]),
  metadata: Type.Record(Type.String(), Type.String()),
  priority: Type.Enum(Object.values(JobPriority)),
  requestId: Type.Union([Type.String(), Type.Null()], { description: 'x-request-id of the submitting request' }),
  traceId: Type.Union([Type.String(), Type.Null()], { description: 'W3C trace id sent to the target in traceparent' }),
  replays: Type.Integer({ description: 'How many times the job was replayed' }),
  cancelRequested: Type.Boolean({ description: 'A cancel arrived while an attempt was running' }),
  deadLetteredAt: Type.Union([Type.String(), Type.Null()]),
  attemptsLogTotal: Type.Integer({
    description: 'Attempts recorded in all, dropped ones included (attemptsLog shows the last 100)',
  }),
  attemptsLogDropped: Type.Integer({
    description:
      'The oldest attempts dropped from the log to keep it within ATTEMPT_LOG_MAX entries; the attempts page no longer returns them',
  }),
});
export type JobView = Static<typeof JobViewSchema>;

/** The JSON document POSTed to `callbackUrl` when a job ends. */
export const CallbackBodySchema = Type.Object({
  jobId: Type.String(),
  status: JobStatusSchema,
  success: Type.Boolean(),
  attempts: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  response: Type.Union([StoredResponseSchema, Type.Null()]),
  error: Type.Union([AttemptErrorSchema, Type.Null()]),
  completedAt: Type.String(),
  targetUrl: Type.String(),
  method: Type.String(),
});
export type CallbackBody = Static<typeof CallbackBodySchema>;

/** One job in a list: its state without payload, headers or attempt log. */
export const JobSummarySchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  status: JobStatusSchema,
  attempts: Type.Integer(),
  targetUrl: Type.String(),
  method: Type.String(),
  priority: Type.Enum(Object.values(JobPriority)),
  metadata: Type.Record(Type.String(), Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  completedAt: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  lastStatusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([AttemptErrorSchema, Type.Null()]),
  callbackStatus: Type.Union([Type.Enum(Object.values(CallbackStatus)), Type.Null()]),
  deadLetteredAt: Type.Union([Type.String(), Type.Null()]),
  replays: Type.Integer(),
});
export type JobSummary = Static<typeof JobSummarySchema>;

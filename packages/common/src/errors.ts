/**
 * Every error relay reports to a client or writes into a job has a stable
 * `RELAY_ERR_*` code, defined here once. Clients may switch on codes; the
 * messages are for humans and may change.
 */
export const ErrorCodes = {
  VALIDATION: { code: 'RELAY_ERR_VALIDATION', statusCode: 400, message: 'The request is invalid' },
  INVALID_JSON: { code: 'RELAY_ERR_INVALID_JSON', statusCode: 400, message: 'The request body is not valid JSON' },
  UNSUPPORTED_MEDIA_TYPE: {
    code: 'RELAY_ERR_UNSUPPORTED_MEDIA_TYPE',
    statusCode: 415,
    message: 'Send the body as application/json',
  },
  BODY_TOO_LARGE: { code: 'RELAY_ERR_BODY_TOO_LARGE', statusCode: 413, message: 'The request body is too large' },
  JSON_TOO_DEEP: {
    code: 'RELAY_ERR_JSON_TOO_DEEP',
    statusCode: 400,
    message: 'The request body nests objects and arrays deeper than allowed (JSON_MAX_DEPTH)',
  },
  NOT_FOUND: { code: 'RELAY_ERR_NOT_FOUND', statusCode: 404, message: 'Not found' },
  JOB_NOT_FOUND: { code: 'RELAY_ERR_JOB_NOT_FOUND', statusCode: 404, message: 'No job with this id' },
  JOB_FINISHED: {
    code: 'RELAY_ERR_JOB_FINISHED',
    statusCode: 409,
    message: 'The job has already finished and cannot be changed',
  },
  JOB_NOT_REPLAYABLE: {
    code: 'RELAY_ERR_JOB_NOT_REPLAYABLE',
    statusCode: 409,
    message: 'Only a failed or cancelled job can be replayed',
  },
  REPLAY_NEEDS_SECRETS: {
    code: 'RELAY_ERR_REPLAY_NEEDS_SECRETS',
    statusCode: 422,
    message: 'The job carried credential headers that were not kept (set RELAY_SECRET_KEY to keep them encrypted)',
  },
  SUBSCRIPTION_NOT_FOUND: {
    code: 'RELAY_ERR_SUBSCRIPTION_NOT_FOUND',
    statusCode: 404,
    message: 'No subscription with this id',
  },
  /** The application has SubscriptionLimits.maxPerApplication subscriptions already. */
  SUBSCRIPTION_LIMIT: {
    code: 'RELAY_ERR_SUBSCRIPTION_LIMIT',
    statusCode: 409,
    message: 'The application has as many subscriptions as it may; delete one first',
  },
  /** A resend asked of a subscription that is disabled: the worker would drop it (it asked to get nothing). */
  SUBSCRIPTION_DISABLED: {
    code: 'RELAY_ERR_SUBSCRIPTION_DISABLED',
    statusCode: 409,
    message: 'The subscription is disabled; enable it (PATCH with `enabled: true`) before resending',
  },
  DELIVERY_NOT_FOUND: {
    code: 'RELAY_ERR_DELIVERY_NOT_FOUND',
    statusCode: 404,
    message: "No delivery with this id in the subscription's log (it may have expired)",
  },
  INVALID_CURSOR: {
    code: 'RELAY_ERR_INVALID_CURSOR',
    statusCode: 400,
    message: 'The cursor is not one this server made',
  },
  UNAUTHORIZED: {
    code: 'RELAY_ERR_UNAUTHORIZED',
    statusCode: 401,
    message: 'Send a valid API key as `Authorization: Bearer <key>` or `x-api-key: <key>`',
  },
  FORBIDDEN: { code: 'RELAY_ERR_FORBIDDEN', statusCode: 403, message: 'This key may not use this route' },
  APPLICATION_NOT_FOUND: {
    code: 'RELAY_ERR_APPLICATION_NOT_FOUND',
    statusCode: 404,
    message: 'No application with this id',
  },
  RATE_LIMITED: {
    code: 'RELAY_ERR_RATE_LIMITED',
    statusCode: 429,
    message: 'Too many requests for this application; retry after the time in Retry-After',
  },
  TOO_MANY_UNAUTHORIZED: {
    code: 'RELAY_ERR_TOO_MANY_UNAUTHORIZED',
    statusCode: 429,
    message: 'Too many requests without a valid API key from this address; retry after the time in Retry-After',
  },
  /** A per-application quota (unfinished jobs, stored bytes) is used up; the message names it and its limit. */
  QUOTA_EXCEEDED: {
    code: 'RELAY_ERR_QUOTA_EXCEEDED',
    statusCode: 429,
    message: "The application's quota is used up",
  },
  /** The job asks for a priority above the application's highest allowed one (only the master key grants `high`). */
  PRIORITY_NOT_ALLOWED: {
    code: 'RELAY_ERR_PRIORITY_NOT_ALLOWED',
    statusCode: 403,
    message: 'This application may not use this priority',
  },
  IDEMPOTENCY_IN_PROGRESS: {
    code: 'RELAY_ERR_IDEMPOTENCY_IN_PROGRESS',
    statusCode: 409,
    message: 'A request with this Idempotency-Key is still being processed; retry shortly',
  },
  IDEMPOTENCY_MISMATCH: {
    code: 'RELAY_ERR_IDEMPOTENCY_MISMATCH',
    statusCode: 422,
    message: 'This Idempotency-Key was used with a different request body',
  },
  MISDIRECTED_HOST: {
    code: 'RELAY_ERR_MISDIRECTED_HOST',
    statusCode: 421,
    message: 'This server answers only to a loopback Host header (RELAY_AUTH=off)',
  },
  METHOD_NOT_ALLOWED: { code: 'RELAY_ERR_METHOD_NOT_ALLOWED', statusCode: 405, message: 'Method not allowed' },
  CONSOLE_NOT_BUILT: {
    code: 'RELAY_ERR_CONSOLE_NOT_BUILT',
    statusCode: 503,
    message: 'The console is not built: run `pnpm build` (or set CONSOLE_DIST_DIR), then restart the backend',
  },
  UNAVAILABLE: {
    code: 'RELAY_ERR_UNAVAILABLE',
    statusCode: 503,
    message: 'A backing service is unavailable; the job was not accepted',
  },
  ACCEPT_UNCERTAIN: {
    code: 'RELAY_ERR_ACCEPT_UNCERTAIN',
    statusCode: 503,
    message:
      'RabbitMQ did not confirm the job in time; it may still run. Retry with the same Idempotency-Key to get this job, or look it up by jobId',
  },
  INTERNAL: { code: 'RELAY_ERR_INTERNAL', statusCode: 500, message: 'Internal error' },
  // Codes recorded on attempts and callbacks (never an HTTP answer of relay's own).
  TIMEOUT: { code: 'RELAY_ERR_TIMEOUT', statusCode: 504, message: 'The attempt did not finish within its timeout' },
  NETWORK: { code: 'RELAY_ERR_NETWORK', statusCode: 502, message: 'The request failed at the network level' },
  HTTP_STATUS: { code: 'RELAY_ERR_HTTP_STATUS', statusCode: 502, message: 'The target answered with a non-2xx status' },
  /** The SSRF guard refused every address the host resolved to (never retried). */
  FORBIDDEN_ADDRESS: {
    code: 'RELAY_ERR_FORBIDDEN_ADDRESS',
    statusCode: 403,
    message: 'Refused to connect to a loopback, private, link-local or reserved address',
  },
  RECEIVER_STOPPED: {
    code: 'RELAY_ERR_RECEIVER_STOPPED',
    statusCode: 502,
    message: 'The receiver answered non-2xx and asked not to be retried (Relay-No-Retry, or 410 from a callback URL)',
  },
  /**
   * The reconciler had to republish a job whose stored spec lacks redacted
   * credential headers it cannot restore (no RELAY_SECRET_KEY): the job fails
   * rather than being sent without them.
   */
  CREDENTIALS_LOST: {
    code: 'RELAY_ERR_CREDENTIALS_LOST',
    statusCode: 500,
    message: "The job's message was lost and its credential headers cannot be restored without RELAY_SECRET_KEY",
  },
  /**
   * The credential headers sealed in the job's message do not open: the key
   * whose id they carry is not configured (RELAY_SECRET_KEY or
   * RELAY_SECRET_KEYS_PREVIOUS), or they were sealed for another job or
   * application. The target is not called; the job fails and is
   * dead-lettered, replayable once the key is configured again.
   */
  CREDENTIALS_UNREADABLE: {
    code: 'RELAY_ERR_CREDENTIALS_UNREADABLE',
    statusCode: 500,
    message: "The job's sealed credential headers could not be opened with the configured keys",
  },
  /** Handling the job's message failed POISON_MAX_FAILURES times (not counting outages of Redis or RabbitMQ). */
  POISON_MESSAGE: {
    code: 'RELAY_ERR_POISON_MESSAGE',
    statusCode: 500,
    message: 'Relay could not process this job: its handling failed repeatedly, so it was stopped and dead-lettered',
  },
} as const satisfies Record<string, { code: `RELAY_ERR_${string}`; statusCode: number; message: string }>;

export type ErrorCodeName = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorCodeName]['code'];

/** One problem with a request: where it is (a JSON pointer into the input) and what is wrong. */
export interface ErrorDetail {
  path: string;
  message: string;
}

/** An error relay answers with, carrying its HTTP status and the problems found. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: ErrorDetail[];
  readonly headers: Record<string, string>;

  constructor(
    name: ErrorCodeName,
    options: { message?: string; details?: ErrorDetail[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    const def = ErrorCodes[name];
    super(options.message ?? def.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.code = def.code;
    this.statusCode = def.statusCode;
    this.details = options.details ?? [];
    this.headers = options.headers ?? {};
  }
}

/**
 * A backing service (Redis, RabbitMQ) failed or is unreachable. The stores and
 * the publisher throw it in place of the client library's error, so every
 * route answers the same 503 (with Retry-After) without catching it itself.
 */
export class ServiceUnavailableError extends RelayError {
  constructor(
    readonly service: 'Redis' | 'RabbitMQ',
    cause: unknown,
  ) {
    super('UNAVAILABLE', { message: `${service} is unavailable; retry later`, headers: { 'retry-after': '1' }, cause });
    this.name = 'ServiceUnavailableError';
  }
}

/**
 * A publish ended without its confirm (the confirm timed out, or the
 * connection was blocked by an alarm while it waited): unlike a refusal, a
 * return or a closed connection, the message may still be on the queue.
 */
export class ConfirmTimeoutError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConfirmTimeoutError';
  }
}

/**
 * A job whose record was written but whose publish is unconfirmed (the
 * confirm timed out). The record is kept, the answer is 503 with the job's
 * id; the Idempotency-Key stays bound to this job (`answer` is what a retry
 * with the key gets); the reconciler publishes the job if the broker lost it.
 */
export class AcceptUncertainError extends RelayError {
  /** The answer a later request with the same Idempotency-Key gets; set by the route. */
  answer: unknown = null;

  constructor(
    readonly jobId: string,
    cause: unknown,
  ) {
    super('ACCEPT_UNCERTAIN', { headers: { 'retry-after': '1' }, cause });
    this.name = 'AcceptUncertainError';
  }
}

import type { CallbackBody, JobSpec, JobView } from '@relay/common';

/**
 * Example documents shown in the OpenAPI document and Swagger UI. They are
 * typed against the types derived from the TypeBox schemas, so a change to a
 * schema that the examples no longer match fails the typecheck, and
 * `test/openapi.test.ts` validates them with the validator the routes use.
 */

const JOB_ID = '5b0f8f4e-2a35-4c8e-9c39-0f0f5d7c1b9a';

/** Request bodies of `POST /api/jobs`, by name (OpenAPI Example Objects). */
export const jobSpecExamples = {
  minimal: {
    summary: 'Only the target: a GET with every default',
    value: { targetUrl: 'https://api.example.com/health' } satisfies Pick<JobSpec, 'targetUrl'>,
  },
  full: {
    summary: 'A POST with headers, a JSON payload, a callback and its own retry settings',
    value: {
      targetUrl: 'https://api.example.com/orders',
      method: 'POST',
      headers: { Authorization: 'Bearer sk_live_x', 'X-Request-Source': 'relay' },
      payload: { orderId: 42 },
      callbackUrl: 'https://my-app.example.com/relay-callback',
      maxRetries: 5,
      retryDelay: 2000,
      timeout: 5000,
      metadata: { tenant: 'acme', kind: 'order-sync' },
      priority: 'normal',
    } satisfies JobSpec,
  },
};

export const jobAcceptedExample = { jobId: JOB_ID, status: 'queued', message: 'Job accepted for processing' };

const okResponse = {
  statusCode: 201,
  headers: { 'content-type': 'application/json' },
  body: { id: 'ord_1' },
  truncated: false,
  bodyBytes: 13,
};

/** The answer of `GET /api/job/{jobId}` for a job that succeeded on its second attempt. */
export const jobViewExample = {
  jobId: JOB_ID,
  status: 'completed',
  attempts: 2,
  targetUrl: 'https://api.example.com/orders',
  method: 'POST',
  headers: { Authorization: '[redacted]', 'X-Request-Source': 'relay' },
  payload: { orderId: 42 },
  callbackUrl: 'https://my-app.example.com/relay-callback',
  webhooks: { failed: 'https://alerts.example.com/relay' },
  maxRetries: 5,
  retryDelay: 2000,
  timeout: 5000,
  createdAt: '2026-11-22T05:00:00.000Z',
  updatedAt: '2026-11-22T05:00:02.120Z',
  completedAt: '2026-11-22T05:00:02.110Z',
  nextAttemptAt: null,
  lastResponse: okResponse,
  error: null,
  attemptsLog: [
    {
      attempt: 1,
      startedAt: '2026-11-22T05:00:00.010Z',
      durationMs: 31.2,
      statusCode: 503,
      success: false,
      response: { statusCode: 503, headers: {}, body: 'busy', truncated: false, bodyBytes: 4 },
      error: { code: 'RELAY_ERR_HTTP_STATUS', message: 'target answered 503' },
      retryable: true,
    },
    {
      attempt: 2,
      startedAt: '2026-11-22T05:00:02.080Z',
      durationMs: 28.9,
      statusCode: 201,
      success: true,
      response: okResponse,
      error: null,
      retryable: false,
    },
  ],
  callback: {
    status: 'delivered',
    statusCode: 200,
    attempts: 1,
    error: null,
    lastAttemptAt: '2026-11-22T05:00:02.115Z',
    nextAttemptAt: null,
  },
  metadata: { tenant: 'acme', kind: 'order-sync' },
  priority: 'normal',
  requestId: 'c0a8e7d2-4b1f-4d7e-8a3c-2f6b9e1d5a70',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  replays: 0,
  cancelRequested: false,
  deadLetteredAt: null,
  attemptsLogTotal: 2,
  attemptsLogDropped: 0,
} satisfies JobView;

/** What relay POSTs to `callbackUrl` when the job above ended. */
export const callbackBodyExample = {
  jobId: JOB_ID,
  status: 'completed',
  success: true,
  attempts: 2,
  statusCode: 201,
  response: okResponse,
  error: null,
  completedAt: '2026-11-22T05:00:02.110Z',
  targetUrl: 'https://api.example.com/orders',
  method: 'POST',
} satisfies CallbackBody;

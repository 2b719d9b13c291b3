import { STATUS_CODES } from 'node:http';
import type { SwaggerTransform } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { CallbackBodySchema, ErrorBodySchema, ErrorCodes, JobSpecSchema, JobViewSchema } from '@relay/common';
import { JobAcceptedSchema } from '../routes/jobs/schemas.js';
import { callbackBodyExample, jobAcceptedExample, jobSpecExamples, jobViewExample } from './openapi-examples.js';

/**
 * How each route's schema is completed for the OpenAPI document: the answers
 * every route can give, descriptions, examples and the job callback. The
 * route's own schema (what Fastify validates and serialises with) is never
 * changed.
 */

/** @fastify/swagger uses this keyword as the response's description and removes it from the schema. */
const RESPONSE_DESCRIPTION = 'x-response-description';

/**
 * Error answers a route gives whether or not it declares them: they come from
 * the validator, the body parser and the central error handler, not from the
 * route's code. Descriptions take the codes from ErrorCodes so they cannot
 * drift from what the server sends.
 */
const GENERIC_ERRORS: Record<number, { when: 'always' | 'hasBody' | 'hasInput' | 'api'; description: string }> = {
  401: {
    when: 'api',
    description: `No API key, or an unknown or revoked one (${ErrorCodes.UNAUTHORIZED.code})`,
  },
  403: {
    when: 'api',
    description: `The key may not use this route: the master key manages applications, application keys use the rest (${ErrorCodes.FORBIDDEN.code})`,
  },
  429: {
    when: 'api',
    description: `The application's rate limit is exhausted; see Retry-After and RateLimit-* (${ErrorCodes.RATE_LIMITED.code}), or this address sent too many requests without a valid key (${ErrorCodes.TOO_MANY_UNAUTHORIZED.code}, see Retry-After)`,
  },
  421: {
    when: 'always',
    description: `Only with RELAY_AUTH=off: the Host header is not a loopback name, so the request may come through DNS rebinding (${ErrorCodes.MISDIRECTED_HOST.code})`,
  },
  400: {
    when: 'hasInput',
    description: `The request is invalid; \`details\` lists every problem (${ErrorCodes.VALIDATION.code}, ${ErrorCodes.INVALID_JSON.code} for a body that is not JSON, or ${ErrorCodes.JSON_TOO_DEEP.code} for one nested deeper than JSON_MAX_DEPTH)`,
  },
  413: { when: 'hasBody', description: `The body is larger than BODY_LIMIT_BYTES (${ErrorCodes.BODY_TOO_LARGE.code})` },
  415: {
    when: 'hasBody',
    description: `The body was not sent as application/json (${ErrorCodes.UNSUPPORTED_MEDIA_TYPE.code})`,
  },
  500: {
    when: 'always',
    description: `A bug; the details are in the server log, not in the answer (${ErrorCodes.INTERNAL.code})`,
  },
  503: {
    when: 'always',
    description: `Redis or RabbitMQ is unavailable; retry later (${ErrorCodes.UNAVAILABLE.code})`,
  },
};

/**
 * Answers POST /api/jobs gives besides the generic ones, for the same
 * status: the application's quotas and priority grant, and a publish the
 * broker did not confirm in time.
 */
const SUBMIT_ERRORS: Record<number, string> = {
  403: `or the job asks for a priority the application was not granted (${ErrorCodes.PRIORITY_NOT_ALLOWED.code})`,
  429: `or a quota of the application is used up: unfinished jobs or stored bytes; the message names it and its limit, see Retry-After (${ErrorCodes.QUOTA_EXCEEDED.code})`,
  503: `or RabbitMQ did not confirm the job in time: it may still run, so retry with the same Idempotency-Key (${ErrorCodes.ACCEPT_UNCERTAIN.code})`,
};

/** What a paginated list route answers besides the generic 400. */
const CURSOR_ERROR = `or \`cursor\` is not a nextCursor this server made (${ErrorCodes.INVALID_CURSOR.code})`;

/** What POST /api/jobs answers to a bad job spec. */
const validationErrorExample = {
  statusCode: 400,
  code: ErrorCodes.VALIDATION.code,
  error: 'Bad Request',
  message: 'The request is invalid: 2 problems',
  details: [
    { path: '/body/targetUrl', message: 'must be an absolute http: or https: URL' },
    { path: '/body/retries', message: 'is not a known field' },
  ],
};

/**
 * The error body as the answer for `status`, with a description and, when
 * only one error code has this status, an example of it.
 */
function errorResponse(status: number, description?: string, example?: object) {
  const text = STATUS_CODES[status] ?? 'Error';
  const codes = Object.values(ErrorCodes).filter((c) => c.statusCode === status);
  const only = codes.length === 1 ? codes[0] : undefined;
  const examples = example
    ? [example]
    : only
      ? [{ statusCode: status, code: only.code, error: text, message: only.message }]
      : undefined;
  return {
    ...ErrorBodySchema,
    [RESPONSE_DESCRIPTION]:
      description ?? (codes.length ? `${text}: \`code\` is ${codes.map((c) => c.code).join(' or ')}` : text),
    ...(examples ? { examples } : {}),
  };
}

/** True when `response` already has an answer for `status`, exactly or through its range (`5xx`). */
function declares(response: Record<string, unknown>, status: number): boolean {
  const range = `${String(status)[0]}xx`;
  return String(status) in response || range in response || range.toUpperCase() in response;
}

type JsonSchema = { properties?: Record<string, JsonSchema>; required?: string[]; default?: unknown };

/**
 * The schema as a client sees it: a property with a default is not required
 * of the client, the validator fills it in (`useDefaults`). TypeBox lists
 * such properties as required because the validated value always has them.
 */
function asInput<T>(schema: T): T {
  const s = schema as JsonSchema;
  if (!s.properties) return schema;
  const properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, asInput(v)]));
  const required = s.required?.filter((k) => s.properties?.[k]?.default === undefined);
  return { ...s, properties, ...(required ? { required } : {}) } as T;
}

/** A tag for the routes that declare none, from where they live. */
function fallbackTags(url: string): string[] | undefined {
  if (url === '/health') return ['health'];
  if (url.startsWith('/api/job')) return ['jobs'];
  return undefined;
}

/** The callback relay makes after a job submitted with a `callbackUrl` ends (an OpenAPI Callback Object). */
const jobResultCallback = {
  '{$request.body#/callbackUrl}': {
    post: {
      requestBody: {
        description: 'Sent when the job ends, if it has a callbackUrl; retried until a 2xx',
        content: { 'application/json': { schema: CallbackBodySchema, example: callbackBodyExample } },
      },
      responses: { '2XX': { description: 'Any 2xx counts as delivered' } },
    },
  },
};

/**
 * Completes one route's schema for the document only (Fastify validates and
 * serialises with the route's own schema, which is not touched): generic
 * error answers, descriptions on every answer, examples on the job spec, job
 * view and error answers, request schemas without the fields that have
 * defaults in `required`, the callback of POST /api/jobs, a tag when the
 * route has none. Shapes stay those of the TypeBox schemas.
 */
export const addDocumentation: SwaggerTransform = ({ schema, url }) => {
  if (!schema || schema.hide) return { schema, url };
  const s = schema as FastifySchema & { response?: Record<string, unknown> };
  const doc: Record<string, unknown> = { ...s };
  const hasBody = s.body !== undefined;
  const isApi = url.startsWith('/api');
  const applies = {
    always: true,
    hasBody,
    hasInput: hasBody || s.params !== undefined || s.querystring !== undefined,
    api: isApi,
  };
  const isJobSubmit = s.body === JobSpecSchema;
  const errorExample = (status: number) => (isJobSubmit && status === 400 ? validationErrorExample : undefined);
  const query = s.querystring as { properties?: Record<string, unknown> } | undefined;
  const extras: Record<number, string | undefined> = {
    ...(isJobSubmit ? SUBMIT_ERRORS : {}),
    ...(query?.properties?.cursor ? { 400: CURSOR_ERROR } : {}),
  };
  const errorDescription = (status: number) => {
    const generic = GENERIC_ERRORS[status]?.description;
    const extra = extras[status];
    return generic && extra ? `${generic}; ${extra}` : generic;
  };

  for (const part of ['body', 'querystring', 'params'] as const) {
    if (s[part] !== undefined) doc[part] = asInput(s[part]);
  }

  const declared = s.response ?? {};
  const response: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(declared)) {
    const status = Number(key);
    if (value === ErrorBodySchema) {
      response[key] = errorResponse(status, errorDescription(status), errorExample(status));
      continue;
    }
    const own = value as { description?: string };
    // Without a description of its own an answer shows as "Default Response": use the status text.
    const described =
      own.description || !STATUS_CODES[status] ? own : { [RESPONSE_DESCRIPTION]: STATUS_CODES[status], ...own };
    if (value === JobViewSchema) response[key] = { ...described, examples: [jobViewExample] };
    else if (value === JobAcceptedSchema) response[key] = { ...described, examples: [jobAcceptedExample] };
    else response[key] = described;
  }
  for (const [key, generic] of Object.entries(GENERIC_ERRORS)) {
    const status = Number(key);
    if (applies[generic.when] && !declares(declared, status)) {
      response[key] = errorResponse(status, errorDescription(status), errorExample(status));
    }
  }
  doc.response = response;

  if (isJobSubmit) {
    // `x-examples` becomes the media type's named `examples`.
    doc.body = { ...asInput(JobSpecSchema), 'x-examples': jobSpecExamples };
    doc.callbacks = { jobResult: jobResultCallback };
  }
  // Every /api route takes either form of the key; the others are open.
  doc.security = isApi ? [{ bearerKey: [] }, { headerKey: [] }] : [];
  if (!s.tags?.length) {
    const tags = fallbackTags(url);
    if (tags) doc.tags = tags;
  }
  return { schema: doc as FastifySchema, url };
};

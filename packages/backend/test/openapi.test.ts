import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { compileErrors, validate } from '@readme/openapi-parser';
import type { ErrorObject } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackBodySchema, createLogger, ErrorCodes, JobSpecSchema, JobViewSchema, queueNames } from '@relay/common';
import { buildApp } from '../src/app.js';
import { loadBackendConfig } from '../src/config.js';
import { DOCS_PREFIX } from '../src/plugins/openapi.js';
import { callbackBodyExample, jobSpecExamples, jobViewExample } from '../src/plugins/openapi-examples.js';
import { validatorCompiler } from '../src/validation.js';
import pkg from '../package.json' with { type: 'json' };

/**
 * The OpenAPI document of the real app (real Redis and RabbitMQ, under a
 * random prefix): a valid OpenAPI document, covering every route.
 */

type Operation = {
  parameters?: unknown[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { description: string }>;
};
type Document = { openapi: string; info: { version: string }; paths: Record<string, Record<string, Operation>> };

const prefix = `t-openapi-${randomBytes(4).toString('hex')}`;
const config = loadBackendConfig({
  RELAY_PREFIX: prefix,
  LOG_LEVEL: 'silent',
  RELAY_MASTER_KEY: randomBytes(32).toString('base64'),
});
let app: Awaited<ReturnType<typeof buildApp>>;
let doc: Document;

beforeAll(async () => {
  app = await buildApp({ config, log: createLogger({ name: 'openapi-test', level: 'silent' }) });
  const res = await app.inject({ method: 'GET', url: `${DOCS_PREFIX}/json` });
  expect(res.statusCode).toBe(200);
  doc = res.json<Document>();
});

afterAll(async () => {
  await app?.close();
  const conn = await amqp.connect(config.rabbitmqUrl);
  try {
    const ch = await conn.createChannel();
    const names = queueNames(prefix);
    for (const name of names.allQueues()) await ch.deleteQueue(name);
    await ch.deleteExchange(names.deadLetterExchange);
    if (names.dueExchange) await ch.deleteExchange(names.dueExchange);
  } finally {
    await conn.close();
  }
});

/** Every documented operation, as `METHOD /path`. */
function operations(): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
  );
}

describe('GET /docs/json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(pkg.version);
    // The validator dereferences its input: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.valid).toBe(true);
  });

  it('is judged by a validator that does find errors', async () => {
    const broken = structuredClone(doc);
    // A Response Object must have a description.
    (broken.paths['/health']!.get!.responses as Record<string, unknown>)['200'] = { content: {} };
    expect((await validate(broken as never)).valid).toBe(false);
  });

  it('documents every route except HEAD twins and the hidden /docs routes', () => {
    const expected = app.registeredRoutes
      .filter((r) => r.method !== 'HEAD' && !r.hidden)
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    // The hook sees the routes: a sanity check that the list is not empty.
    expect(expected).toEqual(expect.arrayContaining(['POST /api/jobs', 'GET /api/job/{jobId}', 'GET /health']));
    expect(operations().map(([name]) => name)).toEqual(expect.arrayContaining(expected));
    expect(Object.keys(doc.paths).filter((p) => p.startsWith(DOCS_PREFIX))).toEqual([]);
  });

  it('documents the error answers every route can give', () => {
    for (const [name, op] of operations()) {
      const statuses = Object.keys(op.responses);
      expect(statuses, name).toEqual(expect.arrayContaining(['500', '503']));
      if (op.parameters?.length || op.requestBody) expect(statuses, name).toContain('400');
      if (op.requestBody) expect(statuses, name).toEqual(expect.arrayContaining(['413', '415']));
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${name} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('names every error code relay answers with, on the routes that give it', () => {
    // Codes recorded inside jobs (attempt and callback errors), never an answer of relay's own.
    const recordedOnly = new Set<string>([
      ErrorCodes.TIMEOUT.code,
      ErrorCodes.NETWORK.code,
      ErrorCodes.HTTP_STATUS.code,
      ErrorCodes.FORBIDDEN_ADDRESS.code,
      ErrorCodes.RECEIVER_STOPPED.code,
      ErrorCodes.CREDENTIALS_LOST.code,
      ErrorCodes.CREDENTIALS_UNREADABLE.code,
      ErrorCodes.POISON_MESSAGE.code,
      // Defined for clients to switch on; not answered today (docs/api.md).
      ErrorCodes.METHOD_NOT_ALLOWED.code,
      // Answered by the /console pages, which are a web page and not in the API document.
      ErrorCodes.CONSOLE_NOT_BUILT.code,
    ]);
    const text = JSON.stringify(doc.paths);
    const missing = Object.values(ErrorCodes)
      .map((c) => c.code)
      .filter((code) => !recordedOnly.has(code) && !text.includes(code));
    expect(missing).toEqual([]);

    for (const [name, op] of operations()) expect(op.responses['421']?.description, name).toContain('RELAY_AUTH=off');
    const submit = doc.paths['/api/jobs']!.post!.responses;
    expect(submit['403']!.description).toContain(ErrorCodes.PRIORITY_NOT_ALLOWED.code);
    expect(submit['429']!.description).toContain(ErrorCodes.QUOTA_EXCEEDED.code);
    expect(submit['429']!.description).toContain(ErrorCodes.TOO_MANY_UNAUTHORIZED.code);
    expect(submit['503']!.description).toContain(ErrorCodes.ACCEPT_UNCERTAIN.code);
    // Other routes do not claim the submit-only answers.
    const list = doc.paths['/api/jobs']!.get!.responses;
    expect(list['429']!.description).not.toContain(ErrorCodes.QUOTA_EXCEEDED.code);
    expect(list['400']!.description).toContain(ErrorCodes.INVALID_CURSOR.code);
  });

  it('documents the console stream as text/event-stream of Snapshots', () => {
    const op = doc.paths['/api/console/stream']!.get! as unknown as {
      responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }>;
    };
    const schema = op.responses['200']!.content!['text/event-stream']!.schema;
    expect(Object.keys(schema.properties ?? {})).toEqual(
      expect.arrayContaining(['totals', 'rates', 'latencyMs', 'queues', 'workers', 'top']),
    );
  });

  it('shows the job spec examples on POST /api/jobs', () => {
    const examples = doc.paths['/api/jobs']!.post!.requestBody!.content['application/json']!.examples!;
    expect(Object.keys(examples)).toEqual(Object.keys(jobSpecExamples));
    expect(examples.full!.value).toEqual(jobSpecExamples.full.value);
  });
});

describe('the examples', () => {
  /** Validates like the routes do (a copy: defaults are filled in place). */
  function problems(schema: object, value: unknown): ErrorObject[] {
    const check = validatorCompiler({ schema, httpPart: 'body', method: 'POST', url: '/' }) as unknown as ((
      data: unknown,
    ) => boolean) & { errors?: ErrorObject[] | null };
    return check(structuredClone(value)) ? [] : (check.errors ?? []);
  }

  it('match the schemas they illustrate', () => {
    for (const example of Object.values(jobSpecExamples)) expect(problems(JobSpecSchema, example.value)).toEqual([]);
    expect(problems(JobViewSchema, jobViewExample)).toEqual([]);
    expect(problems(CallbackBodySchema, callbackBodyExample)).toEqual([]);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI', async () => {
    const res = await app.inject({ method: 'GET', url: DOCS_PREFIX });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('swagger-ui');
  });
});

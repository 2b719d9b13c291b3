import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../src/error-handler.js';
import { installJsonDepthLimit } from '../src/json-depth-limit.js';

/**
 * The depth limit as buildApp installs it: a root preValidation hook, so it
 * applies to routes registered in child plugins, before their schema and
 * handler run.
 */
const app = Fastify();
let handled = 0;

beforeAll(async () => {
  installErrorHandling(app);
  installJsonDepthLimit(app, 8);
  await app.register(async (child) => {
    child.post('/api/things', { schema: { body: { type: 'object' } } }, async () => {
      handled++;
      return { ok: true };
    });
  });
  await app.ready();
});

afterAll(() => app.close());

const deep = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

describe('JSON depth limit', () => {
  it('lets a body at the limit through', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/things',
      payload: deep(8),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(200);
    expect(handled).toBe(1);
  });

  it('refuses a deeper body with 400 RELAY_ERR_JSON_TOO_DEEP naming where, before the handler', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/things',
      payload: deep(9),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      statusCode: 400,
      code: 'RELAY_ERR_JSON_TOO_DEEP',
      error: 'Bad Request',
      message: 'The request body nests objects and arrays deeper than 8 levels',
      details: [{ path: '/body' + '/a'.repeat(8), message: 'is nested deeper than 8 levels (JSON_MAX_DEPTH)' }],
    });
    expect(handled).toBe(1);
  });

  it('refuses a body nested 6,000 deep (which relay could not serialise) the same way', async () => {
    // Built as text: JSON.stringify itself gives up at this depth.
    const payload = `{"targetUrl":"https://x.example","payload":${'['.repeat(6000)}${']'.repeat(6000)}}`;
    const res = await app.inject({
      method: 'POST',
      url: '/api/things',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0].path).toBe('/body/payload' + '/0'.repeat(7));
    expect(handled).toBe(1);
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBody, sendHttp } from '../../src/http/http-call.js';

/**
 * A target's JSON answer nested deeper than JSON_MAX_DEPTH is kept as its
 * text: it parses, but relay could not serialise it again to record the
 * attempt (JSON.stringify throws some thousands of levels down).
 */

const deepText = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const json = Buffer.from.bind(Buffer);

describe('decodeBody', () => {
  it('parses JSON within the depth limit', () => {
    expect(decodeBody(json(deepText(3)), 'application/json', false, 3)).toEqual([[[]]]);
    expect(decodeBody(json('{"a":{"b":1}}'), 'application/problem+json', false)).toEqual({ a: { b: 1 } });
  });

  it('keeps JSON nested past the limit as its text', () => {
    expect(decodeBody(json(deepText(4)), 'application/json', false, 3)).toBe(deepText(4));
    expect(decodeBody(json(deepText(65)), 'application/json', false)).toBe(deepText(65));
  });

  it('keeps text for bad JSON, a truncated body and other media types, null for an empty body', () => {
    expect(decodeBody(json('{"a":'), 'application/json', false)).toBe('{"a":');
    expect(decodeBody(json('[1]'), 'application/json', true)).toBe('[1]');
    expect(decodeBody(json('[1]'), 'text/plain', false)).toBe('[1]');
    expect(decodeBody(Buffer.alloc(0), 'application/json', false)).toBeNull();
  });
});

describe('sendHttp with a target answering JSON nested 10,000 deep', () => {
  const body = deepText(10_000);
  let server: http.Server;
  let url: string;
  const agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('records the body as its text, with the content type kept, and the record serialises', async () => {
    const result = await sendHttp(agent, {
      url,
      method: 'GET',
      headers: {},
      body: null,
      timeoutMs: 5000,
      bodyCap: 64 * 1024,
      jsonMaxDepth: 64,
    });
    expect(result.statusCode).toBe(500);
    expect(result.response?.body).toBe(body);
    expect(result.response?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(JSON.stringify(result.response)).body).toBe(body);
  });
});

import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trickle as trickleTo } from '../../../e2e/support/slow-client.js';
import { edgeServerOptions } from '../src/edge/server-options.js';

/**
 * The server's timeouts as buildApp sets them, on a bare Fastify listening on
 * 127.0.0.1 (no brokers): a raw socket that trickles a request one byte at a
 * time is cut off, while ordinary requests are answered.
 */
const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1200;
let app: FastifyInstance;
let port = 0;

beforeAll(async () => {
  app = Fastify(
    edgeServerOptions({
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      connectionTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5000,
      maxRequestsPerSocket: 100,
    }),
  );
  app.post('/echo', async (request) => ({ got: request.body }));
  app.get('/ping', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
});
afterAll(() => app.close());

/** The slowloris client (e2e/support/slow-client.ts) against this file's server. */
const trickle = (upfront: string, request: string, everyMs: number) => trickleTo(port, upfront, request, everyMs);

describe('slowloris guard', () => {
  it('closes a socket whose headers trickle in byte by byte', async () => {
    const headers = `GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}`;
    const { closedAfterMs, answer } = await trickle('', headers, 50);
    // Cut off near the headers deadline (Node checks it on a timer of at most half of it).
    expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 4);
    expect(answer).not.toContain('200 OK');
  });

  it('closes a socket whose promised body trickles in byte by byte', async () => {
    const head = `POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    const { closedAfterMs, answer } = await trickle(head, `{"a":"${'x'.repeat(990)}`, 50);
    // The headers were complete at once: the request deadline is the one that cut it.
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 4);
    expect(answer).not.toContain('200 OK');
  });

  it('still answers ordinary requests, and a trickler does not block them', async () => {
    const slow = trickle('', `GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'b'.repeat(200)}`, 50);
    const res = await fetch(`http://127.0.0.1:${port}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ got: { hello: 'world' } });
    expect((await slow).answer).not.toContain('200 OK');
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@relay/common';
import { sendHttp, type HttpCall } from '../../src/http/http-call.js';

/**
 * sendHttp against real local servers on 127.0.0.1, port 0. Every server and
 * the agent are closed after each test; stalled connections are cut so that
 * close() does not wait for them.
 */

let agent: Agent;
const servers: http.Server[] = [];

beforeEach(() => {
  // Short keep-alive so that idle sockets do not outlive the test.
  agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
});

afterEach(async () => {
  await agent.destroy();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

function call(url: string, overrides: Partial<HttpCall> = {}): HttpCall {
  return { url, method: 'GET', headers: {}, body: null, timeoutMs: 5000, bodyCap: 64 * 1024, ...overrides };
}

describe('sendHttp', () => {
  it('sends method, headers and body, and records status and lower-cased headers', async () => {
    let seen: { method?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const { url } = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen = { method: req.method, headers: req.headers, body };
        res.writeHead(201, { 'X-Custom': 'yes', 'Set-Cookie': ['a=1', 'b=2'], 'Content-Type': 'text/plain' });
        res.end('created');
      });
    });

    const result = await sendHttp(
      agent,
      call(url, { method: 'POST', headers: { 'x-job': 'j1', 'content-type': 'application/json' }, body: '{"a":1}' }),
    );

    expect(seen).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(seen.headers).toMatchObject({ 'x-job': 'j1', 'content-type': 'application/json' });
    expect(result.statusCode).toBe(201);
    expect(result.error).toBeNull();
    expect(result.headers['x-custom']).toBe('yes');
    expect(result.headers['set-cookie']).toBe('a=1, b=2');
    expect(result.response).toEqual({
      statusCode: 201,
      headers: result.headers,
      body: 'created',
      truncated: false,
      bodyBytes: 7,
    });
    expect(Number.isNaN(Date.parse(result.startedAt))).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('parses a JSON body', async () => {
    const doc = { ok: true, items: [1, 2, 3], nested: { s: 'é' } };
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(doc));
    });
    const result = await sendHttp(agent, call(url));
    expect(result.response?.body).toEqual(doc);
    expect(result.response?.bodyBytes).toBe(Buffer.byteLength(JSON.stringify(doc)));
  });

  it('parses a +json media type', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(422, { 'content-type': 'application/problem+json' });
      res.end('{"title":"bad"}');
    });
    const result = await sendHttp(agent, call(url));
    expect(result.statusCode).toBe(422);
    expect(result.response?.body).toEqual({ title: 'bad' });
  });

  it('keeps a text body as text, even when it looks like JSON', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('{"not":"parsed"}');
    });
    const result = await sendHttp(agent, call(url));
    expect(result.response?.body).toBe('{"not":"parsed"}');
  });

  it('keeps invalid JSON as text', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{oops');
    });
    const result = await sendHttp(agent, call(url));
    expect(result.response?.body).toBe('{oops');
  });

  it('records an empty body as null', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const result = await sendHttp(agent, call(url));
    expect(result.statusCode).toBe(204);
    expect(result.response).toMatchObject({ body: null, truncated: false, bodyBytes: 0 });
  });

  it('keeps a body of exactly the cap whole', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(100));
    });
    const result = await sendHttp(agent, call(url, { bodyCap: 100 }));
    expect(result.response).toMatchObject({ body: 'x'.repeat(100), truncated: false, bodyBytes: 100 });
  });

  it('truncates a body over the cap, and does not parse truncated JSON', async () => {
    const big = JSON.stringify({ data: 'y'.repeat(5 * 1024 * 1024) });
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    });
    const result = await sendHttp(agent, call(url, { bodyCap: 1000 }));
    expect(result.statusCode).toBe(200);
    expect(result.response?.truncated).toBe(true);
    expect(result.response?.bodyBytes).toBe(1000);
    expect(result.response?.body).toBe(big.slice(0, 1000));
  });

  it('stops reading an endless body at the cap and closes the connection', async () => {
    let written = 0;
    let serverSawClose = false;
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'z');
      res.on('close', () => (serverSawClose = true));
      // Writes forever, as fast as the socket takes it, until the client goes away.
      const pump = () => {
        while (!res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });

    const t0 = Date.now();
    const result = await sendHttp(agent, call(url, { bodyCap: 32 * 1024, timeoutMs: 10_000 }));
    const elapsed = Date.now() - t0;

    expect(result.error).toBeNull();
    expect(result.response?.truncated).toBe(true);
    expect(result.response?.bodyBytes).toBe(32 * 1024);
    expect(result.response?.body).toBe('z'.repeat(32 * 1024));
    // Well before the 10 s deadline: reading stopped at the cap.
    expect(elapsed).toBeLessThan(3000);
    // The client destroyed the stream, so the server's response gets closed.
    await expect.poll(() => serverSawClose, { timeout: 2000 }).toBe(true);
    // The server did send more than the cap: the client cut it off.
    expect(written).toBeGreaterThan(32 * 1024);
  });

  it('times out when the server never answers', async () => {
    const { url } = await listen(() => {
      // Never answers.
    });
    const result = await sendHttp(agent, call(url, { timeoutMs: 200 }));
    expect(result.statusCode).toBeNull();
    expect(result.response).toBeNull();
    expect(result.error).toEqual({
      code: ErrorCodes.TIMEOUT.code,
      message: ErrorCodes.TIMEOUT.message,
      retryable: true,
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('times out when the server sends headers and then stalls the body', async () => {
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial'); // ...and never ends.
    });
    const result = await sendHttp(agent, call(url, { timeoutMs: 200 }));
    expect(result.statusCode).toBeNull();
    expect(result.response).toBeNull();
    expect(result.error?.code).toBe(ErrorCodes.TIMEOUT.code);
    expect(result.error?.retryable).toBe(true);
    expect(result.durationMs).toBeLessThan(3000);
  });

  it('times out a body that trickles forever: the deadline covers the whole exchange, not the gaps', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // A byte every 50 ms: never idle long enough for an inactivity timeout.
      timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const result = await sendHttp(agent, call(url, { timeoutMs: 400 }));
    clearInterval(timer);
    expect(result.statusCode).toBeNull();
    expect(result.error?.code).toBe(ErrorCodes.TIMEOUT.code);
    expect(result.durationMs).toBeGreaterThanOrEqual(350);
    expect(result.durationMs).toBeLessThan(1500);
  });

  it('reports a refused connection as a retryable network error', async () => {
    const { server, url } = await listen(() => {});
    servers.splice(servers.indexOf(server), 1);
    await new Promise<void>((resolve) => server.close(() => resolve()));

    const result = await sendHttp(agent, call(url));
    expect(result.statusCode).toBeNull();
    expect(result.response).toBeNull();
    expect(result.error).toMatchObject({ code: 'RELAY_ERR_NETWORK', systemCode: 'ECONNREFUSED', retryable: true });
    expect(result.error?.message).toContain('ECONNREFUSED');
  });

  it('does not follow a redirect', async () => {
    let targetHits = 0;
    const target = await listen((_req, res) => {
      targetHits++;
      res.end('should not be reached');
    });
    const { url } = await listen((_req, res) => {
      res.writeHead(302, { location: target.url, 'content-type': 'text/plain' });
      res.end('moved');
    });

    const result = await sendHttp(agent, call(url));
    expect(result.statusCode).toBe(302);
    expect(result.headers.location).toBe(target.url);
    expect(result.response?.body).toBe('moved');
    await sleep(50);
    expect(targetHits).toBe(0);
  });
});

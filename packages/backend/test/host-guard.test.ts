import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installLoopbackHostGuard } from '../src/edge/host-guard.js';
import { installErrorHandling } from '../src/error-handler.js';

/** The keys-off Host guard as buildApp installs it, on a bare Fastify (no brokers). */
const app = Fastify();
let handled = 0;

beforeAll(async () => {
  installErrorHandling(app);
  installLoopbackHostGuard(app);
  app.get('/api/jobs', async () => {
    handled++;
    return { ok: true };
  });
  app.get('/health', async () => ({ status: 'ok' }));
  await app.ready();
});
afterAll(() => app.close());

describe('loopback Host guard (RELAY_AUTH=off)', () => {
  it.each(['localhost:3000', '127.0.0.1:3000', '127.0.0.1', '[::1]:3000', 'localhost'])(
    'answers Host: %s',
    async (host) => {
      const res = await app.inject({ method: 'GET', url: '/api/jobs', headers: { host } });
      expect(res.statusCode).toBe(200);
    },
  );

  it.each(['rebound.example', 'rebound.example:3000', '127.0.0.1.example:3000', '10.0.0.5:3000'])(
    'refuses Host: %s with 421 and a stable code, before the handler',
    async (host) => {
      const before = handled;
      for (const url of ['/api/jobs', '/health']) {
        const res = await app.inject({ method: 'GET', url, headers: { host } });
        expect(res.statusCode).toBe(421);
        expect(res.json()).toMatchObject({ statusCode: 421, code: 'RELAY_ERR_MISDIRECTED_HOST' });
      }
      expect(handled).toBe(before);
    },
  );
});

import { randomBytes } from 'node:crypto';
import { trickle as trickleTo } from './support/slow-client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnRelay } from './support/processes.js';
import { requestWithHost } from './support/raw-http.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The backend's edge, on real processes: server timeouts against a slowloris
 * client, loopback-only keys-off mode (HOST at start-up, Host header per
 * request), the /metrics token and tenant labels, and the per-IP limit on
 * requests without a valid key. Every call goes to 127.0.0.1.
 */
const masterKey = randomBytes(32).toString('base64');
const metricsToken = randomBytes(24).toString('hex');
const STRANGER_MAX = 3;
const REQUEST_TIMEOUT_MS = 1000;
let open: Stack;
let keyed: Stack;

beforeAll(async () => {
  open = await startStack('edge-open', { workers: 0 });
  keyed = await startStack('edge-keyed', {
    workers: 0,
    env: {
      RELAY_AUTH: 'on',
      RELAY_MASTER_KEY: masterKey,
      METRICS_TOKEN: metricsToken,
      METRICS_TENANT_LABELS: 'off',
      STRANGER_LIMIT_MAX: String(STRANGER_MAX),
      HTTP_HEADERS_TIMEOUT_MS: '500',
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    },
  });
});

afterAll(async () => {
  await Promise.all([open?.stop(), keyed?.stop()]);
});

/** Trickles `text` one byte per 50 ms after `upfront` to the backend at `baseUrl` (see support/slow-client.ts). */
const trickle = (baseUrl: string, upfront: string, text: string) =>
  trickleTo(Number(new URL(baseUrl).port), upfront, text);

describe('RELAY_AUTH=off stays on loopback', () => {
  it('refuses to start when HOST only looks like a loopback address', async () => {
    const backend = spawnRelay('backend', { RELAY_AUTH: 'off', HOST: '127.0.0.1.example', PORT: '0' });
    expect(await backend.exited()).toBe(78);
    expect(backend.lines.join('\n')).toContain('RELAY_AUTH=off is only allowed when HOST is a loopback address');
  });

  it('answers loopback Host headers and refuses others with 421 (DNS rebinding)', async () => {
    const port = new URL(open.api.baseUrl).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
      expect((await requestWithHost(open.api.baseUrl, { method: 'GET', path: '/api/jobs', host })).status).toBe(200);
    }
    for (const host of [`rebound.example:${port}`, '127.0.0.1.example', `attacker.test:${port}`]) {
      for (const path of ['/api/jobs', '/health']) {
        const res = await requestWithHost(open.api.baseUrl, { method: 'GET', path, host });
        expect(res.status).toBe(421);
        expect(res.body).toMatchObject({ statusCode: 421, code: 'RELAY_ERR_MISDIRECTED_HOST' });
      }
    }
  });
});

describe('server timeouts', () => {
  it('cuts off a client that trickles its headers, or its promised body', async () => {
    const headers = await trickle(
      keyed.api.baseUrl,
      '',
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(300)}`,
    );
    expect(headers.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 5);
    expect(headers.answer).not.toContain(' 200 ');
    const head =
      'POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n' +
      `Authorization: Bearer ${masterKey}\r\n\r\n`;
    const body = await trickle(keyed.api.baseUrl, head, `{"targetUrl":"${'x'.repeat(4000)}`);
    expect(body.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS);
    expect(body.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS * 5);
    expect(body.answer).not.toContain(' 202 ');
    // Ordinary requests are unaffected.
    expect((await keyed.api.send('GET', '/health')).status).toBe(200);
  });
});

describe('/metrics', () => {
  it('needs METRICS_TOKEN when set, and hides application ids with METRICS_TENANT_LABELS=off', async () => {
    const master = keyed.api.withKey(masterKey);
    const created = await master.json('POST', '/api/applications', { name: 'edge-tenant' });
    expect(created.status).toBe(201);
    const app = keyed.api.withKey(created.body.apiKey);
    expect((await app.submit({ targetUrl: 'http://127.0.0.1:9/never-called' })).status).toBe(202);

    for (const key of [null, 'wrong-token', masterKey]) {
      const res = await keyed.api.withKey(key).send('GET', '/metrics');
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'RELAY_ERR_UNAUTHORIZED' });
    }
    const scrape = await keyed.api.withKey(metricsToken).send('GET', '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.body).toContain('relay_jobs_accepted_total{application="_all"} 1');
    expect(scrape.body).not.toContain(created.body.id);
  });
});

// Last: once over the limit, 127.0.0.1 (every test's address) is refused on this stack.
describe('limit for strangers', () => {
  it('answers 401 up to STRANGER_LIMIT_MAX per IP, then 429 with Retry-After, even for a valid key', async () => {
    for (let i = 0; i < STRANGER_MAX; i++) {
      const res = await keyed.api.withKey(`rk_guess_${i}`).send('GET', '/api/jobs');
      expect(res.status).toBe(401);
    }
    const over = await keyed.api.withKey('rk_guess_over').send('GET', '/api/jobs');
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ statusCode: 429, code: 'RELAY_ERR_TOO_MANY_UNAUTHORIZED' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await keyed.api.send('GET', '/api/jobs')).status).toBe(429);
    expect((await keyed.api.withKey(masterKey).send('GET', '/api/applications')).status).toBe(429);
    // Public routes are not behind the limit.
    expect((await keyed.api.send('GET', '/health')).status).toBe(200);
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { History, Snapshot } from '../packages/backend/src/routes/console/schemas.js';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { openSse, type SseReader } from './support/sse.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The console's live stream against a real stack (backend and worker
 * processes, Redis, RabbitMQ): read with fetch as the console reads it, it
 * shows jobs being accepted and finished, the worker online, and only the
 * caller's application to an application key.
 */
const masterKey = randomBytes(32).toString('base64');
let stack: Stack;
let master: RelayClient;
const target = new TestServer();

beforeAll(async () => {
  await target.listen();
  target.on('/ok', (_req, res) => reply(res, 200));
  target.on('/bad', (_req, res) => reply(res, 422));
  stack = await startStack('console', { env: { RELAY_AUTH: 'on', RELAY_MASTER_KEY: masterKey } });
  master = stack.api.withKey(masterKey);
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

async function createApplication(name: string): Promise<{ id: string; client: RelayClient; key: string }> {
  const res = await master.json('POST', '/api/applications', { name });
  expect(res.status).toBe(201);
  return { id: res.body.id, key: res.body.apiKey, client: stack.api.withKey(res.body.apiKey) };
}

function stream(key: string): Promise<SseReader> {
  return openSse(`${stack.api.baseUrl}/api/console/stream`, { authorization: `Bearer ${key}` });
}

/** Snapshots until one satisfies `done`, or the deadline. */
async function until(sse: SseReader, done: (s: Snapshot) => boolean, timeoutMs = 20_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | null = null;
  while (Date.now() < deadline) {
    last = JSON.parse((await sse.next('snapshot', 3000)).data) as Snapshot;
    if (done(last)) return last;
  }
  throw new Error(`no matching snapshot within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

describe('GET /api/console/stream', () => {
  it('answers a wrong key with 401 JSON', async () => {
    const res = await fetch(`${stack.api.baseUrl}/api/console/stream`, {
      headers: { authorization: 'Bearer not-a-real-key' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as { code: string }).code).toBe('RELAY_ERR_UNAUTHORIZED');
  });

  it('moves totals and rates as jobs run, shows the worker, scoped by key', async () => {
    const a = await createApplication('console-a');
    const b = await createApplication('console-b');
    const all = await stream(masterKey);
    const onlyA = await stream(a.key);
    try {
      expect(all.status).toBe(200);
      expect(all.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const history = JSON.parse((await all.next('history')).data) as History;
      expect(Array.isArray(history.points)).toBe(true);
      await onlyA.next('history');
      const first = await until(all, (s) => s.workers.length === 1);
      expect(first.workers[0]).toMatchObject({ state: 'consuming', inFlight: 0 });
      expect(first.totals.accepted).toBe(0);

      // A: 6 that succeed and 2 that fail for good; B: 5 that succeed.
      await Promise.all([
        ...Array.from({ length: 6 }, () => a.client.submitOk({ targetUrl: target.url('/ok') })),
        ...Array.from({ length: 2 }, () => a.client.submitOk({ targetUrl: target.url('/bad'), maxRetries: 0 })),
        ...Array.from({ length: 5 }, () => b.client.submitOk({ targetUrl: target.url('/ok') })),
      ]);

      // Rates are per poll interval: some snapshot on the way saw them above 0. Counters are
      // read from Redis, destinations and latency from the workers' next heartbeat (within 1 s):
      // wait for both.
      const host = new URL(target.url('/ok')).host;
      const attempts = (s: Snapshot) => s.top.destinations.reduce((n, d) => n + d.completed + d.failed, 0);
      let sawRate = false;
      const done = await until(all, (s) => {
        sawRate ||= s.rates.accepted > 0;
        return s.totals.completed === 11 && s.totals.failed === 2 && attempts(s) === 13;
      });
      expect(sawRate).toBe(true);
      expect(done.totals.accepted).toBe(13);
      expect(done.latencyMs.p50).not.toBeNull();
      expect(done.top.applications.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
      expect(done.top.destinations).toEqual([{ host, completed: 11, failed: 2 }]);

      const mine = await until(onlyA, (s) => s.totals.completed === 6 && s.totals.failed === 2 && attempts(s) === 8);
      expect(mine.totals.accepted).toBe(8);
      expect(mine.top.applications.map((r) => r.id)).toEqual([a.id]);
      expect(mine.top.destinations).toEqual([{ host, completed: 6, failed: 2 }]);
      expect(mine.latencyMs.p50).not.toBeNull();
    } finally {
      all.close();
      onlyA.close();
    }
  });

  it('drops a stopped worker from the snapshot', async () => {
    const extra = await stack.addWorker();
    const sse = await stream(masterKey);
    try {
      await until(sse, (s) => s.workers.length === 2);
      await extra.stop();
      const after = await until(sse, (s) => s.workers.length === 1, 10_000);
      expect(after.workers).toHaveLength(1);
    } finally {
      sse.close();
    }
  });
});

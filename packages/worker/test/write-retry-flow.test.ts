import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger, HeaderRedactor, type AttemptMessage, type JobStore, type WorkMessage } from '@relay/common';
import { processAttempt } from '../src/attempt/process-attempt.js';
import type { WorkerDeps } from '../src/deps.js';
import { HeldOutcomes } from '../src/held-outcomes.js';
import type { Scheduler } from '../src/scheduler.js';

/**
 * A state write that fails after the target was called, or after the callback
 * was delivered, is retried; the call and the POST are not made again. The
 * store is an in-memory fake whose writes fail a set number of times (Redis
 * refusing writes); the target and the receiver are a real local server.
 */

const log = createLogger({ name: 'test', level: 'silent' });
let agent: Agent;
let server: http.Server;
let base: string;
const hits = new Map<string, number>();

beforeEach(async () => {
  agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  hits.clear();
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits.set(req.url ?? '/', (hits.get(req.url ?? '/') ?? 0) + 1);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('records the attempt and the callback by retrying the writes, calling the target and the receiver once', async () => {
  let recordFailures = 2;
  let callbackFailures = 2;
  const writes: string[] = [];
  const store = {
    forApplication: () => store,
    beginAttempt: async () => ({ outcome: 'run', attemptsDone: 0 }),
    recordAttempt: async (_jobId: string, record: { status: string }) => {
      if (recordFailures-- > 0) throw new Error('READONLY You cannot write against a read only replica.');
      writes.push(`attempt:${record.status}`);
      return { written: true, status: record.status };
    },
    setCallback: async (_jobId: string, state: { status: string }) => {
      if (callbackFailures-- > 0) throw new Error('READONLY You cannot write against a read only replica.');
      writes.push(`callback:${state.status}`);
    },
    markScheduled: async () => true,
    get: async () => null,
  } as unknown as JobStore;
  const deps: WorkerDeps = {
    store,
    scheduler: {
      schedule: async (_m: WorkMessage) => undefined,
      deadLetter: async () => undefined,
    } as unknown as Scheduler,
    dispatcher: agent,
    signing: { get: async () => null },
    redactor: new HeaderRedactor(),
    random: () => 0,
    now: Date.now,
    bodyCap: 1024,
    attemptTimeoutMaxMs: 10_000,
    maxDelayMs: 60_000,
    retryAfterMaxMs: 60_000,
    callbackMaxAttempts: 3,
    callbackRetryDelayMs: 100,
    callbackTimeoutMs: 5000,
    heldAttempts: new HeldOutcomes(),
    heldCallbacks: new HeldOutcomes(),
  };
  const message: AttemptMessage = {
    v: 1,
    kind: 'attempt',
    jobId: randomUUID(),
    attempt: 1,
    seriesBase: 0,
    dueAt: 0,
    createdAt: new Date().toISOString(),
    spec: {
      targetUrl: `${base}/target`,
      method: 'POST',
      headers: {},
      payload: null,
      callbackUrl: `${base}/callback`,
      maxRetries: 3,
      retryDelay: 100,
      timeout: 5000,
      priority: 'normal',
    },
    requestId: null,
    traceId: '',
    application: 'default',
  };
  await processAttempt(deps, message, log);
  expect(writes).toEqual(['attempt:completed', 'callback:delivered']);
  expect(Object.fromEntries(hits)).toEqual({ '/target': 1, '/callback': 1 });
  // Nothing left held once written.
  expect(deps.heldAttempts!.get(`${message.jobId}:1`)).toBeUndefined();
});

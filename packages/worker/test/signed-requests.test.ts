import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  DEFAULT_APPLICATION,
  HeaderRedactor,
  sealMessageHeaders,
  targetSigningSecret,
  type AttemptMessage,
  type CallbackMessage,
  type JobSpec,
  type JobStore,
  type WorkMessage,
} from '@relay/common';
import { processAttempt } from '../src/attempt/process-attempt.js';
import { processCallback } from '../src/callback/process-callback.js';
import type { WorkerDeps } from '../src/deps.js';
import type { Scheduler } from '../src/scheduler.js';
import type { ApplicationSigning, SigningLookup } from '../src/signing/signing-secrets.js';

/**
 * Signed target requests and callbacks, end to end through the attempt and
 * callback flows against a real local server (127.0.0.1, port 0). The store
 * and the scheduler are in-memory fakes; what the receiver gets is checked
 * with the independent `standardwebhooks` package over the raw bytes.
 */

interface Received {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

const log = createLogger({ name: 'test', level: 'silent' });
const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
/** RELAY_SECRET_KEY of the fake store: what seals and opens credential headers of messages. */
const sealKeys = { current: randomBytes(32).toString('base64') };

let agent: Agent;
let server: http.Server;
let base: string;
let received: Received[];
/** Status per path, consumed in order; 200 once a list is empty. */
let answers: Map<string, number[]>;

beforeEach(async () => {
  agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  received = [];
  answers = new Map();
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({
        path,
        method: req.method ?? '',
        headers: req.headers as Record<string, string>,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(answers.get(path)?.shift() ?? 200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
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

function fakes(signingOf: (app: string) => ApplicationSigning | null) {
  const scheduled: WorkMessage[] = [];
  const store = {
    secretKey: sealKeys,
    forApplication: () => store,
    beginAttempt: async () => ({ outcome: 'run', attemptsDone: 0 }),
    recordAttempt: async (_jobId: string, record: { status: string }) => ({ written: true, status: record.status }),
    getCallback: async () => null,
    setCallback: async () => 1,
    markScheduled: async () => true,
    get: async () => null,
  } as unknown as JobStore;
  const scheduler = {
    schedule: async (m: WorkMessage) => void scheduled.push(m),
    deadLetter: async () => undefined,
  } as unknown as Scheduler;
  const signing: SigningLookup = { get: async (app) => signingOf(app) };
  const deps: WorkerDeps = {
    store,
    scheduler,
    dispatcher: agent,
    signing,
    redactor: new HeaderRedactor(),
    random: () => 0,
    now: Date.now,
    bodyCap: 64 * 1024,
    attemptTimeoutMaxMs: 10_000,
    maxDelayMs: 60_000,
    retryAfterMaxMs: 60_000,
    callbackMaxAttempts: 3,
    callbackRetryDelayMs: 100,
    callbackTimeoutMs: 5000,
  };
  return { deps, scheduled };
}

function attemptMessage(spec: Partial<JobSpec>, application = 'app_signed'): AttemptMessage {
  return {
    v: 1,
    kind: 'attempt',
    jobId: randomUUID(),
    attempt: 1,
    dueAt: 0,
    createdAt: new Date().toISOString(),
    spec: {
      targetUrl: `${base}/target`,
      method: 'POST',
      headers: {},
      payload: { hello: 'wörld' },
      callbackUrl: `${base}/callback`,
      maxRetries: 3,
      retryDelay: 100,
      timeout: 5000,
      priority: 'normal',
      ...spec,
    },
    seriesBase: 0,
    requestId: null,
    traceId: '',
    application,
  };
}

const at = (path: string) => received.filter((r) => r.path === path);

describe('signed target requests', () => {
  it('signs every attempt of a job with one webhook-id, over the exact body sent', async () => {
    const secret = newSecret();
    const { deps, scheduled } = fakes(() => ({ secrets: [secret], signTargetRequests: true }));
    answers.set('/target', [503]);
    const message = attemptMessage({ headers: { 'Webhook-Id': 'spoofed' } });
    await processAttempt(deps, message, log);
    const retry = scheduled.shift() as AttemptMessage;
    expect(retry).toMatchObject({ kind: 'attempt', attempt: 2 });
    await processAttempt(deps, retry, log);

    const targets = at('/target');
    expect(targets).toHaveLength(2);
    for (const t of targets) {
      expect(t.headers['webhook-id']).toBe(`msg_${message.jobId}`);
      expect(new Webhook(targetSigningSecret(secret)).verify(t.body, t.headers)).toEqual({ hello: 'wörld' });
    }
  });

  it('signs a bodyless GET over the empty string', async () => {
    const secret = newSecret();
    const { deps } = fakes(() => ({ secrets: [secret], signTargetRequests: true }));
    await processAttempt(deps, attemptMessage({ method: 'GET', payload: null, callbackUrl: undefined }), log);
    const [target] = at('/target');
    expect(target!.body).toBe('');
    expect(target!.headers['webhook-signature']).toMatch(/^v1,/);
    expect(new Webhook(targetSigningSecret(secret)).verify('', target!.headers)).toBeUndefined();
  });

  it('signs with the derived target key: a signed target request does not verify as a callback', async () => {
    const secret = newSecret();
    const { deps } = fakes(() => ({ secrets: [secret], signTargetRequests: true }));
    await processAttempt(deps, attemptMessage({ callbackUrl: undefined }), log);
    const [target] = at('/target');
    expect(new Webhook(targetSigningSecret(secret)).verify(target!.body, target!.headers)).toEqual({ hello: 'wörld' });
    expect(() => new Webhook(secret).verify(target!.body, target!.headers)).toThrow();
    expect(targetSigningSecret(secret)).not.toBe(secret);
  });

  it('leaves target requests unsigned unless the application asks for it', async () => {
    const { deps } = fakes(() => ({ secrets: [newSecret()], signTargetRequests: false }));
    await processAttempt(deps, attemptMessage({ callbackUrl: undefined }), log);
    expect(Object.keys(at('/target')[0]!.headers).filter((h) => h.startsWith('webhook-'))).toEqual([]);
  });
});

describe('signed callbacks', () => {
  it('signs each delivery of a result with the same webhook-id and that send’s timestamp', async () => {
    const [newest, older] = [newSecret(), newSecret()];
    const { deps, scheduled } = fakes(() => ({ secrets: [newest, older], signTargetRequests: false }));
    answers.set('/callback', [500]);
    const message = attemptMessage({});
    await processAttempt(deps, message, log);
    const second = scheduled.shift() as CallbackMessage;
    expect(second).toMatchObject({ kind: 'callback', delivery: 2, webhookId: `msg_${message.jobId}_a1` });
    await processCallback(deps, second, log);

    const deliveries = at('/callback');
    expect(deliveries).toHaveLength(2);
    for (const d of deliveries) {
      expect(d.headers['webhook-id']).toBe(`msg_${message.jobId}_a1`);
      expect(d.headers['webhook-signature']!.split(' ')).toHaveLength(2);
      // Either secret alone verifies: a receiver mid-rotation knows one of them.
      for (const secret of [newest, older]) {
        expect(new Webhook(secret).verify(d.body, d.headers)).toMatchObject({ jobId: message.jobId, success: true });
      }
    }
  });

  it('names the result by the attempt that produced it', async () => {
    const secret = newSecret();
    const { deps, scheduled } = fakes(() => ({ secrets: [secret], signTargetRequests: false }));
    answers.set('/target', [503]);
    const message = attemptMessage({});
    await processAttempt(deps, message, log);
    await processAttempt(deps, scheduled.shift() as AttemptMessage, log);
    const [delivery] = at('/callback');
    expect(delivery!.headers['webhook-id']).toBe(`msg_${message.jobId}_a2`);
    expect(new Webhook(secret).verify(delivery!.body, delivery!.headers)).toMatchObject({ attempts: 2 });
  });

  it("sends relay-callback/<the worker package's version> as the callback's user agent", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const { deps } = fakes(() => null);
    await processAttempt(deps, attemptMessage({}, DEFAULT_APPLICATION), log);
    const [delivery] = at('/callback');
    expect(delivery!.headers['user-agent']).toBe(`relay-callback/${version}`);
  });

  it('sends unsigned callbacks for an application without secrets (the default one)', async () => {
    const { deps } = fakes(() => null);
    await processAttempt(deps, attemptMessage({}, DEFAULT_APPLICATION), log);
    const [delivery] = at('/callback');
    expect(delivery).toBeDefined();
    expect(Object.keys(delivery!.headers).filter((h) => h.startsWith('webhook-'))).toEqual([]);
  });
});

describe('sealed credential headers', () => {
  it('travel sealed in the message and reach the target in clear', async () => {
    const { deps } = fakes(() => null);
    const message = sealMessageHeaders(
      attemptMessage({
        headers: { Authorization: 'Bearer s3cret-token', 'X-Plain': 'visible' },
        callbackUrl: undefined,
      }),
      sealKeys,
      new HeaderRedactor(),
    );
    expect(JSON.stringify(message)).not.toContain('s3cret-token');
    expect(message.spec.headers).toEqual({ Authorization: '[redacted]', 'X-Plain': 'visible' });
    await processAttempt(deps, message, log);
    const [target] = at('/target');
    expect(target!.headers.authorization).toBe('Bearer s3cret-token');
    expect(target!.headers['x-plain']).toBe('visible');
  });

  it('are never sent when moved onto another job', async () => {
    const { deps } = fakes(() => null);
    const redactor = new HeaderRedactor();
    const sealed = sealMessageHeaders(
      attemptMessage({ headers: { Authorization: 'Bearer s3cret-token' } }),
      sealKeys,
      redactor,
    );
    const other = sealMessageHeaders(
      attemptMessage({ headers: { Authorization: 'x' }, callbackUrl: undefined }),
      sealKeys,
      redactor,
    );
    const records: { status: string; attempt: { error: { code: string } | null; retryable: boolean } }[] = [];
    const store = deps.store as unknown as { recordAttempt: (id: string, r: (typeof records)[number]) => unknown };
    store.recordAttempt = async (_id, record) => (records.push(record), { written: true, status: record.status });
    // The job ends failed with its own code, without a call and without a retry.
    await processAttempt(deps, { ...other, sealedHeaders: sealed.sealedHeaders }, log);
    expect(at('/target')).toHaveLength(0);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      status: 'failed',
      attempt: { error: { code: 'RELAY_ERR_CREDENTIALS_UNREADABLE' }, retryable: false },
    });
  });
});

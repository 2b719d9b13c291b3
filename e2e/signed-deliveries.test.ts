import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer, type ReceivedRequest } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { readEverything, REDIS_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Signed deliveries (Standard Webhooks): receivers on 127.0.0.1 verify every
 * callback, and target requests when the application asks for it, with the
 * independent `standardwebhooks` package, across retries and rotations.
 */
let stack: Stack;
let master: RelayClient;
const receiver = new TestServer();
const masterKey = randomBytes(32).toString('base64');

/** Workers cache an application's secrets this long (SigningSecretCache's default), plus a margin. */
const SIGNING_CACHE_WAIT_MS = 5000 + 700;

/** Outcome of each verification a receiver made, by path. */
const verdicts = new Map<string, boolean[]>();

/**
 * A receiver that knows only `secret`: 200 for a delivery that verifies, 401
 * otherwise (so relay records a failed delivery). `failFirst` answers 500 to
 * the first request before verifying anything.
 */
function verifyingReceiver(path: string, secret: string, { failFirst = false } = {}): string {
  const webhook = new Webhook(secret);
  receiver.on(path, (req, res, count) => {
    if (failFirst && count === 1) return reply(res, 500, 'try again');
    let ok = true;
    try {
      webhook.verify(req.body, req.headers as Record<string, string>);
    } catch {
      ok = false;
    }
    verdicts.set(path, [...(verdicts.get(path) ?? []), ok]);
    reply(res, ok ? 200 : 401);
  });
  return receiver.url(path);
}

const webhookHeaders = (r: ReceivedRequest) =>
  Object.keys(r.headers)
    .filter((h) => h.startsWith('webhook-'))
    .sort();

beforeAll(async () => {
  await receiver.listen();
  stack = await startStack('signing', {
    env: {
      RELAY_AUTH: 'on',
      RELAY_MASTER_KEY: masterKey,
      // Secrets rest sealed in Redis; both processes hold the key.
      RELAY_SECRET_KEY: randomBytes(32).toString('base64'),
      CALLBACK_RETRY_DELAY_MS: '50',
      CALLBACK_MAX_ATTEMPTS: '3',
    },
  });
  master = stack.api.withKey(masterKey);
});

afterAll(async () => {
  await stack?.stop();
  await receiver.close();
});

async function createApplication(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; api: RelayClient; secret: string; targetSecret: string }> {
  const res = await master.json('POST', '/api/applications', { name, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const { id, apiKey, signingSecret, targetSigningSecret } = res.body;
  return { id, api: stack.api.withKey(apiKey), secret: signingSecret, targetSecret: targetSigningSecret };
}

async function rotate(id: string, graceSeconds: number): Promise<{ signingSecret: string; signingSecrets: unknown[] }> {
  const res = await master.json('POST', `/api/applications/${id}/signing-secret`, { graceSeconds });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** Submits a job whose target answers 200 and waits until its callback settled. */
async function runJob(api: RelayClient, callbackUrl: string, targetPath = '/ok'): Promise<any> {
  const res = await api.submit({ targetUrl: receiver.url(targetPath), callbackUrl, retryDelay: 100 });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return api.waitFinal(res.body.jobId, 30_000, { callback: true });
}

describe('signed callbacks', () => {
  it('signs every delivery, and a retried delivery carries the same webhook-id', async () => {
    const app = await createApplication('callbacks');
    const url = verifyingReceiver('/cb/retry', app.secret, { failFirst: true });
    const job = await runJob(app.api, url);
    expect(job.callback).toMatchObject({ status: 'delivered', attempts: 2 });

    const deliveries = receiver.requests('/cb/retry');
    expect(deliveries).toHaveLength(2);
    expect(verdicts.get('/cb/retry')).toEqual([true]);
    const now = Math.floor(Date.now() / 1000);
    for (const d of deliveries) {
      expect(webhookHeaders(d)).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
      expect(d.headers['webhook-id']).toBe(`msg_${job.jobId}_a1`);
      expect(Number(d.headers['webhook-timestamp'])).toBeGreaterThan(now - 60);
      // The first one (answered 500) verifies too.
      expect(new Webhook(app.secret).verify(d.body, d.headers as Record<string, string>)).toMatchObject({
        jobId: job.jobId,
        status: 'completed',
      });
    }
    // Target requests are not signed unless the application asks for it.
    expect(webhookHeaders(receiver.requests('/ok').at(-1)!)).toEqual([]);
  });

  it('keeps signing secrets sealed at rest in Redis', async () => {
    const app = await createApplication('at rest');
    const redis = new Redis(REDIS_URL);
    try {
      const stored = JSON.stringify([...(await readEverything(redis, stack.prefix)).values()]);
      expect(stored).not.toContain(app.secret.slice('whsec_'.length));
      expect(stored).toContain('sealed:');
    } finally {
      redis.disconnect();
    }
  });
});

describe('signed target requests', () => {
  it('signs each attempt with one webhook-id; a bodyless GET is signed over the empty body', async () => {
    const app = await createApplication('targets', { signTargetRequests: true });
    // Target requests are signed with the application's target secret, never its callback secret.
    const webhook = new Webhook(app.targetSecret);
    const verified: unknown[] = [];
    receiver.on('/target/signed', (req, res, count) => {
      verified.push(webhook.verify(req.body, req.headers as Record<string, string>));
      reply(res, count === 1 ? 503 : 200);
    });
    const res = await app.api.submit({ targetUrl: receiver.url('/target/signed'), retryDelay: 100 });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await app.api.waitFinal(res.body.jobId);
    expect(job).toMatchObject({ status: 'completed', attempts: 2 });

    const attempts = receiver.requests('/target/signed');
    expect(attempts.map((a) => [a.method, a.body, a.headers['webhook-id']])).toEqual([
      ['GET', '', `msg_${job.jobId}`],
      ['GET', '', `msg_${job.jobId}`],
    ]);
    // verify() returns undefined for an empty payload; a bad signature would have thrown.
    expect(verified).toEqual([undefined, undefined]);
  });

  it('signs a POST body as sent', async () => {
    const app = await createApplication('post target', { signTargetRequests: true });
    const res = await app.api.submit({
      targetUrl: receiver.url('/target/post'),
      method: 'POST',
      payload: { order: 42, note: 'naïve ✓' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    await app.api.waitFinal(res.body.jobId);
    const [request] = receiver.requests('/target/post');
    const headers = request!.headers as Record<string, string>;
    expect(new Webhook(app.targetSecret).verify(request!.body, headers)).toEqual({ order: 42, note: 'naïve ✓' });
    // A signed target request does not pass for a callback of the same application.
    expect(app.targetSecret).not.toBe(app.secret);
    expect(() => new Webhook(app.secret).verify(request!.body, headers)).toThrow();
  });
});

describe('rotation', () => {
  it('signs with the old and the new secret during the grace period', async () => {
    const app = await createApplication('rotating');
    // Loads the application's secrets into the worker's cache.
    await runJob(app.api, verifyingReceiver('/cb/before', app.secret));
    expect(verdicts.get('/cb/before')).toEqual([true]);

    const rotated = await rotate(app.id, 3600);
    expect(rotated.signingSecret).toMatch(/^whsec_/);
    expect(rotated.signingSecret).not.toBe(app.secret);
    expect(rotated.signingSecrets).toHaveLength(2);
    await sleep(SIGNING_CACHE_WAIT_MS);

    const [viaOld, viaNew] = await Promise.all([
      runJob(app.api, verifyingReceiver('/cb/grace/old', app.secret)),
      runJob(app.api, verifyingReceiver('/cb/grace/new', rotated.signingSecret)),
    ]);
    expect(viaOld.callback).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(viaNew.callback).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(verdicts.get('/cb/grace/old')).toEqual([true]);
    expect(verdicts.get('/cb/grace/new')).toEqual([true]);
    const signature = receiver.requests('/cb/grace/new')[0]!.headers['webhook-signature'] as string;
    expect(signature.split(' ')).toHaveLength(2);
  });

  it('signs with the new secret only after a rotation without grace', async () => {
    const app = await createApplication('no grace');
    await runJob(app.api, verifyingReceiver('/cb/nograce/before', app.secret));

    const rotated = await rotate(app.id, 0);
    expect(rotated.signingSecrets).toHaveLength(1);
    await sleep(SIGNING_CACHE_WAIT_MS);

    const [viaOld, viaNew] = await Promise.all([
      runJob(app.api, verifyingReceiver('/cb/nograce/old', app.secret)),
      runJob(app.api, verifyingReceiver('/cb/nograce/new', rotated.signingSecret)),
    ]);
    expect(viaNew.callback).toMatchObject({ status: 'delivered', attempts: 1 });
    // The receiver that knows only the old secret refuses every delivery.
    expect(viaOld.callback).toMatchObject({ status: 'failed', attempts: 3, statusCode: 401 });
    expect(verdicts.get('/cb/nograce/old')).toEqual([false, false, false]);
    const [delivery] = receiver.requests('/cb/nograce/new');
    expect((delivery!.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
  });
});

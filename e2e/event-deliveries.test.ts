import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { eventWebhookId, redisKeys } from '@relay/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventReceiver } from './support/event-receiver.js';
import { startEventsStack, subscribe, waitForLog, type EventsStack } from './support/events-stack.js';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { REDIS_URL } from './support/services.js';

/**
 * Event deliveries to a subscription that fail: retried (EVENT_MAX_ATTEMPTS
 * 3, 50 ms apart), shown as failed in the delivery log with their attempts,
 * and re-sent one by one or all since a time, under the same webhook-id.
 */
let events: EventsStack;
const receiver = new EventReceiver();
const target = new TestServer();

beforeAll(async () => {
  await Promise.all([receiver.listen(), target.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200));
  events = await startEventsStack('event-log');
});

afterAll(async () => {
  await events?.stop();
  await Promise.all([receiver.close(), target.close()]);
});

const createApplication = (name: string) => events.createApplication(name);

async function runJob(api: RelayClient): Promise<any> {
  return api.waitFinal(await api.submitOk({ targetUrl: target.url('/ok'), retryDelay: 100 }));
}

describe('delivery log and resend', () => {
  it('a delivery that keeps failing is retried, logged as failed, and re-sent with the same webhook-id', async () => {
    const app = await createApplication('failing');
    let failing = true;
    const url = receiver.route('/sub/failing', { secret: app.secret, answer: () => (failing ? 500 : 200) });
    const sub = await subscribe(app.api, { url, events: ['completed'] });
    const { jobId } = await runJob(app.api);
    const deliveryId = eventWebhookId(jobId, 5, `sub:${sub.id}`);

    const failed = await waitForLog(app.api, sub.id, (d) => d.status === 'failed', 'a failed delivery');
    expect(failed).toMatchObject({
      id: deliveryId,
      subscriptionId: sub.id,
      jobId,
      event: 'completed',
      sequence: 5,
      status: 'failed',
      attempts: 3,
      lastStatusCode: 500,
      nextAttemptAt: null,
    });
    const tries = receiver.at('/sub/failing');
    expect(tries.map((e) => [e.webhookId, e.answered, e.verified])).toEqual([
      [deliveryId, 500, true],
      [deliveryId, 500, true],
      [deliveryId, 500, true],
    ]);
    const byStatus = await app.api.send('GET', `/api/subscriptions/${sub.id}/deliveries?status=delivered`);
    expect(byStatus.body.deliveries).toEqual([]);

    failing = false;
    const resend = await app.api.send('POST', `/api/subscriptions/${sub.id}/deliveries/${deliveryId}/resend`);
    expect(resend.status, JSON.stringify(resend.body)).toBe(202);
    expect(resend.body).toMatchObject({ resent: 1 });
    const [again] = (await receiver.waitAt('/sub/failing', (e) => e.length >= 4, 'the resend')).slice(3);
    expect(again).toMatchObject({ webhookId: deliveryId, answered: 200, verified: true });
    expect(again!.body).toEqual(tries[0]!.body);
    const delivered = await waitForLog(app.api, sub.id, (d) => d.status === 'delivered', 'the delivered resend');
    expect(delivered).toMatchObject({ id: deliveryId, lastStatusCode: 200 });
  });

  it('sends the subscription’s headers, which rest sealed in Redis; a receiver stops the retries with 410', async () => {
    const app = await createApplication('gone');
    const url = receiver.route('/sub/gone', { answer: () => 410 });
    const sub = await subscribe(app.api, { url, events: ['completed'], headers: { 'x-team': 'billing' } });
    // The stack runs with RELAY_SECRET_KEY: the stored record holds the headers sealed only.
    const redis = new Redis(REDIS_URL);
    try {
      const raw = await redis.hget(redisKeys(events.stack.prefix, app.id).subscriptions(), sub.id);
      expect(raw).toContain(sub.id);
      expect(raw).not.toContain('billing');
    } finally {
      redis.disconnect();
    }
    const { jobId } = await runJob(app.api);
    const failed = await waitForLog(app.api, sub.id, (d) => d.status === 'failed', 'a failed delivery');
    expect(failed).toMatchObject({ jobId, attempts: 1, lastStatusCode: 410 });
    await sleep(500);
    const got = receiver.at('/sub/gone');
    expect(got).toHaveLength(1);
    expect(got[0]!.headers).toMatchObject({ 'x-team': 'billing', 'x-job-id': jobId, 'x-job-status': 'completed' });
  });

  it('re-sends every failed delivery since a time, and pages the log newest first', async () => {
    const app = await createApplication('bulk resend');
    let failing = true;
    const url = receiver.route('/sub/bulk', { answer: () => (failing ? 503 : 204) });
    const sub = await subscribe(app.api, { url, events: ['created', 'completed'] });
    const since = new Date().toISOString();
    const jobIds: string[] = [];
    for (let i = 0; i < 3; i++) jobIds.push((await runJob(app.api)).jobId);
    const failed = await waitForFailed(app.api, sub.id, 6);
    const expectedIds = jobIds.flatMap((jobId) => [1, 5].map((seq) => eventWebhookId(jobId, seq, `sub:${sub.id}`)));
    expect(new Set(failed.map((d: any) => d.id))).toEqual(new Set(expectedIds));

    const page1 = await app.api.send('GET', `/api/subscriptions/${sub.id}/deliveries?limit=4`);
    expect(page1.status).toBe(200);
    expect(page1.body.deliveries).toHaveLength(4);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const cursor = encodeURIComponent(page1.body.nextCursor);
    const page2 = await app.api.send('GET', `/api/subscriptions/${sub.id}/deliveries?limit=4&cursor=${cursor}`);
    expect(page2.body.deliveries).toHaveLength(2);
    expect(page2.body.nextCursor).toBeNull();
    const all = [...page1.body.deliveries, ...page2.body.deliveries];
    expect(new Set(all.map((d: any) => d.id))).toEqual(new Set(expectedIds));
    const created = all.map((d: any) => Date.parse(d.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));

    failing = false;
    const resend = await app.api.json('POST', `/api/subscriptions/${sub.id}/deliveries/resend`, { since });
    expect(resend.status, JSON.stringify(resend.body)).toBe(202);
    expect(resend.body).toEqual({ resent: 6, more: false });
    await receiver.waitAt('/sub/bulk', (e) => e.filter((x) => x.answered === 204).length >= 6, 'six resends');
    await sleep(300);
    const ok = receiver.at('/sub/bulk').filter((e) => e.answered === 204);
    expect(ok.map((e) => e.webhookId).sort()).toEqual([...expectedIds].sort());
    // The log follows: no delivery of the subscription is failed any more.
    await expect.poll(() => failedCount(app.api, sub.id), { timeout: 10_000 }).toBe(0);
  });
});

async function failedCount(api: RelayClient, subscriptionId: string): Promise<number> {
  const res = await api.send('GET', `/api/subscriptions/${subscriptionId}/deliveries?status=failed&limit=100`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.deliveries.length;
}

/** Polls the failed deliveries of a subscription until there are `count`. */
async function waitForFailed(api: RelayClient, subscriptionId: string, count: number): Promise<any[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await api.send('GET', `/api/subscriptions/${subscriptionId}/deliveries?status=failed&limit=100`);
    if (res.body.deliveries?.length === count) return res.body.deliveries;
    if (Date.now() > deadline) throw new Error(`failed deliveries: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

import { setTimeout as sleep } from 'node:timers/promises';
import { eventWebhookId, type EventBody } from '@relay/common';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventSummary, EventReceiver, type ReceivedEvent } from './support/event-receiver.js';
import {
  QUIET_MS,
  startEventsStack,
  subscribe,
  SUBSCRIPTION_CACHE_WAIT_MS,
  type EventsStack,
} from './support/events-stack.js';
import { reply, TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';

/**
 * Lifecycle events (issue 14) end to end: per-job webhooks, filtered and
 * disabled subscriptions, Standard Webhooks signatures checked with the
 * independent `standardwebhooks` package. Each test has its own
 * application, so subscriptions never cross tests. The delivery log and
 * resend: event-deliveries.test.ts; endpoint health: endpoint-health.test.ts;
 * no listener, no message: event-cost.test.ts.
 */
let events: EventsStack;
const receiver = new EventReceiver();
const target = new TestServer();

beforeAll(async () => {
  await Promise.all([receiver.listen(), target.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200, '{"ok":true}', { 'content-type': 'application/json' }));
  events = await startEventsStack('events');
});

afterAll(async () => {
  await events?.stop();
  await Promise.all([receiver.close(), target.close()]);
});

const createApplication = (name: string) => events.createApplication(name);

async function runJob(api: RelayClient, spec: Record<string, unknown>): Promise<any> {
  const jobId = await api.submitOk({ targetUrl: target.url('/ok'), retryDelay: 100, ...spec });
  return api.waitFinal(jobId);
}

const sequences = (events: ReceivedEvent[]) => events.map((e) => e.body.sequence);
const ofJob = (events: ReceivedEvent[], jobId: string) => events.filter((e) => e.body.jobId === jobId);
const hasEvent = (jobId: string, event: string) => (events: ReceivedEvent[]) =>
  events.some((e) => e.body.jobId === jobId && e.body.event === event);

describe('per-job webhooks', () => {
  it('delivers each event once to each webhook that asks for it, in sequence order, signed', async () => {
    const app = await createApplication('webhooks');
    target.on('/once-then-ok', (_req, res, count) => reply(res, count === 1 ? 503 : 200));
    const opts = { secret: app.secret };
    const webhooks = {
      started: receiver.route('/wh/started', opts),
      retrying: receiver.route('/wh/retrying', opts),
      completed: receiver.route('/wh/completed', opts),
      // The seed's name for started and retrying.
      progress: receiver.route('/wh/progress', opts),
      '*': receiver.route('/wh/all', opts),
    };
    const job = await runJob(app.api, { targetUrl: target.url('/once-then-ok'), maxRetries: 3, webhooks });
    expect(job).toMatchObject({ status: 'completed', attempts: 2 });
    const { jobId } = job;

    await receiver.waitAt('/wh/all', (e) => e.length >= 5, 'five events');
    await receiver.waitAt('/wh/completed', (e) => e.length >= 1, 'completed');
    await receiver.waitAt('/wh/progress', (e) => e.length >= 3, 'both starts and the retry');
    await sleep(QUIET_MS);

    // created 1 · started 4a · retrying/completed 4a+1 (event-ids.ts).
    const all = receiver.at('/wh/all');
    expect(eventSummary(all)).toEqual(['created#1', 'started#4', 'retrying#5', 'started#8', 'completed#9']);
    expect(eventSummary(receiver.at('/wh/started'))).toEqual(['started#4', 'started#8']);
    expect(eventSummary(receiver.at('/wh/retrying'))).toEqual(['retrying#5']);
    expect(eventSummary(receiver.at('/wh/completed'))).toEqual(['completed#9']);
    expect(eventSummary(receiver.at('/wh/progress'))).toEqual(['started#4', 'retrying#5', 'started#8']);

    const delivered = ['/wh/started', '/wh/retrying', '/wh/completed', '/wh/progress', '/wh/all'].flatMap((p) =>
      receiver.at(p),
    );
    for (const e of delivered) {
      expect(e.body).toMatchObject({ jobId, application: app.id, metadata: {} });
      expect(e.headers['x-job-id']).toBe(jobId);
      expect(e.headers['x-job-status']).toBe(e.body.status);
      expect(e.verified, `${e.path} ${e.body.event}`).toBe(true);
      // The same on every retry and duplicate: derived from job, sequence and destination.
      const url = webhooks[(e.path === '/wh/all' ? '*' : e.path.slice(4)) as keyof typeof webhooks];
      expect(e.webhookId).toBe(eventWebhookId(jobId, e.body.sequence, `job:${url}`));
    }
    expect(new Set(delivered.map((e) => e.webhookId)).size).toBe(delivered.length);
    // Sequences only grow, whatever the arrival order of the other receivers.
    expect(sequences(all)).toEqual([...sequences(all)].sort((a, b) => a - b));

    const byEvent = new Map(all.map((e) => [e.body.event, e.body] as const));
    expect(byEvent.get('created')!.status).toBe('queued');
    expect(byEvent.get('started')!.attempt).toMatchObject({ number: 2 });
    expect(byEvent.get('retrying')!.attempt).toMatchObject({ number: 1, statusCode: 503 });
    expect(byEvent.get('retrying')!.attempt!.nextAttemptAt).toEqual(expect.any(String));
    expect(byEvent.get('completed')).toMatchObject({ status: 'completed', result: { statusCode: 200 } });
    // Timestamps follow the state changes.
    const times = all.map((e) => Date.parse(e.body.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('webhooks changed while a job waits for its retry apply from its next attempt; the job view shows them', async () => {
    const app = await createApplication('late webhooks');
    target.on('/fails-first', (_req, res, count) => reply(res, count === 1 ? 503 : 200));
    const first = receiver.route('/wh/first', { secret: app.secret });
    const jobId = await app.api.submitOk({
      targetUrl: target.url('/fails-first'),
      // Long enough to change the map between the attempts (backoff jitter is a fraction of it).
      retryDelay: 2000,
      webhooks: { retrying: first, completed: first },
    });
    await waitForStatus(app.api, jobId, 'retrying');
    const later = receiver.route('/wh/later', { secret: app.secret });
    const res = await app.api.json('POST', `/api/job/${jobId}/webhooks`, { webhooks: { completed: null, '*': later } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ jobId, webhooks: { retrying: first, '*': later } });
    expect((await app.api.job(jobId)).body.webhooks).toEqual({ retrying: first, '*': later });

    expect((await app.api.waitFinal(jobId)).status).toBe('completed');
    await receiver.waitAt('/wh/later', (e) => e.length >= 2, 'the second attempt’s events');
    await sleep(QUIET_MS);
    expect(eventSummary(receiver.at('/wh/first'))).toEqual(['retrying#5']);
    expect(eventSummary(receiver.at('/wh/later'))).toEqual(['started#8', 'completed#9']);
    expect(receiver.at('/wh/later').every((e) => e.verified)).toBe(true);
    // A finished job takes no more webhooks.
    const tooLate = await app.api.json('POST', `/api/job/${jobId}/webhooks`, { webhooks: { failed: later } });
    expect(tooLate.status, JSON.stringify(tooLate.body)).toBe(409);
    // The seed's path names the same route.
    const alias = await app.api.json('POST', `/api/jobs/${jobId}/webhooks`, { webhooks: { failed: later } });
    expect(alias.status, JSON.stringify(alias.body)).toBe(409);
  });
});

async function waitForStatus(api: RelayClient, jobId: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await api.job(jobId);
    if (res.body.status === status) return;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never ${status}: ${JSON.stringify(res.body)}`);
    await sleep(20);
  }
}

describe('the other job events', () => {
  it('failed, dead_lettered, replayed and cancelled reach a * webhook in sequence order', async () => {
    const app = await createApplication('ends');
    target.on('/always-500', (_req, res) => reply(res, 500));
    const url = receiver.route('/wh/ends', { secret: app.secret });
    const spec = { targetUrl: target.url('/always-500'), webhooks: { '*': url } };

    const failing = await app.api.submitOk({ ...spec, maxRetries: 0 });
    expect((await app.api.waitFinal(failing)).status).toBe('failed');
    const ofFailing = (e: ReceivedEvent[]) => ofJob(e, failing);
    await receiver.waitAt('/wh/ends', (e) => ofFailing(e).length >= 4, 'failed and dead_lettered');
    const replay = await app.api.send('POST', `/api/job/${failing}/replay`);
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);
    await receiver.waitAt('/wh/ends', (e) => ofFailing(e).length >= 8, 'the replay’s events');

    const cancelled = await app.api.submitOk({ ...spec, maxRetries: 3, retryDelay: 5000 });
    await waitForStatus(app.api, cancelled, 'retrying');
    const cancel = await app.api.send('POST', `/api/job/${cancelled}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    await receiver.waitAt('/wh/ends', (e) => ofJob(e, cancelled).length >= 4, 'cancelled');
    await sleep(QUIET_MS);

    const got = receiver.at('/wh/ends');
    expect(eventSummary(ofJob(got, failing))).toEqual([
      'created#1',
      'started#4',
      'failed#5',
      'dead_lettered#6',
      'replayed#7',
      'started#8',
      'failed#9',
      'dead_lettered#10',
    ]);
    expect(eventSummary(ofJob(got, cancelled))).toEqual(['created#1', 'started#4', 'retrying#5', 'cancelled#6']);
    for (const e of got) {
      expect(e.verified).toBe(true);
      expect(e.headers['x-job-status']).toBe(e.body.status);
    }
    const last = (jobId: string, event: string) => ofJob(got, jobId).find((e) => e.body.event === event)!.body;
    expect(last(failing, 'failed')).toMatchObject({ status: 'failed', error: { code: expect.any(String) } });
    expect(last(failing, 'replayed').status).toBe('queued');
    expect(last(cancelled, 'cancelled').status).toBe('cancelled');
  });
});

describe('subscriptions', () => {
  it('a subscription filtered on two metadata keys receives the events of matching jobs only', async () => {
    const app = await createApplication('filters');
    const filtered = await subscribe(app.api, {
      url: receiver.route('/sub/two-keys', { secret: app.secret }),
      events: ['*'],
      filters: { metadata: { team: 'blue', region: 'eu' } },
    });
    // Every job's events, so the test knows when the filtered one has had its chance.
    await subscribe(app.api, { url: receiver.route('/sub/every-job', { secret: app.secret }), events: ['*'] });

    const metadata = {
      both: { team: 'blue', region: 'eu', extra: 'x' },
      teamOnly: { team: 'blue', region: 'us' },
      regionOnly: { team: 'red', region: 'eu' },
      otherKeys: { colour: 'blue', place: 'eu' },
      none: undefined,
    };
    const jobs = Object.fromEntries(
      await Promise.all(
        Object.entries(metadata).map(async ([name, m]) => [name, (await runJob(app.api, { metadata: m })).jobId]),
      ),
    ) as Record<keyof typeof metadata, string>;
    for (const jobId of Object.values(jobs)) {
      await receiver.waitAt('/sub/every-job', hasEvent(jobId, 'completed'), `completed of ${jobId}`);
    }
    await receiver.waitAt('/sub/two-keys', hasEvent(jobs.both, 'completed'), 'completed of the matching job');
    await sleep(QUIET_MS);

    const got = receiver.at('/sub/two-keys');
    expect(new Set(got.map((e) => e.body.jobId))).toEqual(new Set([jobs.both]));
    expect(eventSummary(got)).toEqual(['created#1', 'started#4', 'completed#5']);
    for (const e of got) {
      expect(e.body).toMatchObject({ application: app.id, metadata: metadata.both });
      expect(e.verified).toBe(true);
      expect(e.webhookId).toBe(eventWebhookId(jobs.both, e.body.sequence, `sub:${filtered.id}`));
    }
    // The unfiltered subscription got all five jobs, three events each.
    expect(receiver.at('/sub/every-job')).toHaveLength(15);
  });

  it('a disabled subscription receives nothing', async () => {
    const app = await createApplication('disabled');
    const off = await subscribe(app.api, { url: receiver.route('/sub/off'), events: ['*'] });
    await subscribe(app.api, { url: receiver.route('/sub/on'), events: ['completed'] });
    const patched = await app.api.json('PATCH', `/api/subscriptions/${off.id}`, { enabled: false });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ id: off.id, enabled: false, disabledReason: 'manual' });
    expect((await app.api.send('GET', `/api/subscriptions/${off.id}`)).body).toMatchObject({ enabled: false });
    await sleep(SUBSCRIPTION_CACHE_WAIT_MS);

    const { jobId } = await runJob(app.api, {});
    await receiver.waitAt('/sub/on', hasEvent(jobId, 'completed'), 'the enabled subscription');
    await sleep(QUIET_MS);
    expect(receiver.at('/sub/off')).toEqual([]);
    const log = await app.api.send('GET', `/api/subscriptions/${off.id}/deliveries`);
    expect(log.body).toEqual({ deliveries: [], nextCursor: null });
  });

  it('does not deliver one application’s events to another’s subscriptions', async () => {
    const [mine, theirs] = await Promise.all([createApplication('mine'), createApplication('theirs')]);
    await subscribe(theirs.api, { url: receiver.route('/sub/theirs'), events: ['*'] });
    await subscribe(mine.api, { url: receiver.route('/sub/mine'), events: ['*'] });
    const { jobId } = await runJob(mine.api, {});
    await receiver.waitAt('/sub/mine', hasEvent(jobId, 'completed'), 'completed');
    await sleep(QUIET_MS);
    expect(receiver.at('/sub/theirs')).toEqual([]);
  });
});

describe('signatures', () => {
  it('verify with the standardwebhooks package under the application secret, and under no other', async () => {
    const [app, other] = await Promise.all([createApplication('signed'), createApplication('other')]);
    expect(app.secret).toMatch(/^whsec_/);
    await subscribe(app.api, { url: receiver.route('/sub/signed', { secret: app.secret }), events: ['*'] });
    const { jobId } = await runJob(app.api, { metadata: { order: '42' } });
    const got = await receiver.waitAt('/sub/signed', hasEvent(jobId, 'completed'), 'completed');
    expect(got.map((e) => e.verified)).toEqual([true, true, true]);
    for (const e of got) {
      const raw = JSON.stringify(e.body);
      const headers = e.headers as Record<string, string>;
      expect(
        Object.keys(headers)
          .filter((h) => h.startsWith('webhook-'))
          .sort(),
      ).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
      const verified = new Webhook(app.secret).verify(raw, headers) as EventBody;
      expect(verified).toMatchObject({ jobId, metadata: { order: '42' } });
      expect(() => new Webhook(other.secret).verify(raw, headers)).toThrow();
      expect(() => new Webhook(app.secret).verify(raw.replace('"42"', '"43"'), headers)).toThrow();
    }
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventReceiver } from './support/event-receiver.js';
import {
  QUIET_MS,
  startEventsStack,
  subscribe,
  SUBSCRIPTION_CACHE_WAIT_MS,
  type EventsStack,
} from './support/events-stack.js';
import { reply, TestServer } from './support/http-servers.js';

/**
 * Endpoint health: a subscription whose deliveries keep failing for
 * SUBSCRIPTION_DISABLE_AFTER_DAYS is disabled, the API shows why, and the
 * application's other subscriptions that ask for `endpoint.disabled` are
 * told. 0.0001 days (the least the worker accepts) is 8.64 s, so a run of
 * failures a little longer than that disables it here.
 */
const DISABLE_AFTER_DAYS = 0.0001;
const DISABLE_AFTER_MS = DISABLE_AFTER_DAYS * 86_400_000;

let events: EventsStack;
const receiver = new EventReceiver();
const target = new TestServer();

beforeAll(async () => {
  await Promise.all([receiver.listen(), target.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200));
  events = await startEventsStack('endpoint-health', { SUBSCRIPTION_DISABLE_AFTER_DAYS: String(DISABLE_AFTER_DAYS) });
});

afterAll(async () => {
  await events?.stop();
  await Promise.all([receiver.close(), target.close()]);
});

it('disables a subscription whose endpoint keeps failing and sends endpoint.disabled to those that ask', async () => {
  const app = await events.createApplication('health');
  const failing = await subscribe(app.api, {
    name: 'dying endpoint',
    url: receiver.route('/dying', { answer: () => 500 }),
    events: ['*'],
  });
  const watcher = await subscribe(app.api, {
    name: 'operations',
    url: receiver.route('/operations', { secret: app.secret }),
    events: ['endpoint.disabled'],
  });
  await subscribe(app.api, { url: receiver.route('/bystander'), events: ['completed'] });

  // Failed deliveries keep coming, a job every 200 ms, until the run of
  // failures is long enough.
  const startedAt = Date.now();
  let view: any;
  for (;;) {
    await app.api.submitOk({ targetUrl: target.url('/ok') });
    await sleep(200);
    view = (await app.api.send('GET', `/api/subscriptions/${failing.id}`)).body;
    if (view.enabled === false) break;
    if (Date.now() - startedAt > 30_000) throw new Error(`still enabled after 30 s: ${JSON.stringify(view)}`);
  }
  const disabledAfterMs = Date.now() - startedAt;
  expect(disabledAfterMs).toBeGreaterThanOrEqual(DISABLE_AFTER_MS);
  expect(view).toMatchObject({ id: failing.id, enabled: false, disabledReason: 'endpoint_failing' });
  expect(Date.parse(view.disabledAt)).toBeGreaterThanOrEqual(startedAt + DISABLE_AFTER_MS);
  expect(receiver.at('/dying').length).toBeGreaterThan(1);
  const listed = (await app.api.send('GET', '/api/subscriptions')).body.subscriptions as any[];
  expect(listed.find((s) => s.id === failing.id)).toMatchObject({ enabled: false, disabledReason: 'endpoint_failing' });

  const [notice] = await receiver.waitAt('/operations', (e) => e.length >= 1, 'endpoint.disabled');
  expect(notice!.body).toMatchObject({
    event: 'endpoint.disabled',
    jobId: null,
    application: app.id,
    subscription: { id: failing.id, name: 'dying endpoint', reason: 'endpoint_failing' },
  });
  expect(notice!.verified).toBe(true);

  // Told once; not told to a subscription that did not ask, nor to the disabled one.
  await sleep(SUBSCRIPTION_CACHE_WAIT_MS);
  const fromDying = receiver.at('/dying').length;
  const { jobId } = await app.api.waitFinal(await app.api.submitOk({ targetUrl: target.url('/ok') }));
  await receiver.waitAt('/bystander', (e) => e.some((x) => x.body.jobId === jobId), 'the last job');
  await sleep(QUIET_MS);
  expect(receiver.at('/operations').map((e) => e.body.event)).toEqual(['endpoint.disabled']);
  expect(receiver.at('/operations')[0]!.body.subscription!.id).not.toBe(watcher.id);
  expect(receiver.at('/bystander').every((e) => e.body.event === 'completed')).toBe(true);
  expect(receiver.at('/dying').every((e) => e.body.event !== 'endpoint.disabled')).toBe(true);
  // A disabled subscription gets nothing more.
  expect(receiver.at('/dying').length).toBe(fromDying);

  // Enabling it again starts afresh.
  const enabled = await app.api.json('PATCH', `/api/subscriptions/${failing.id}`, { enabled: true });
  expect(enabled.status, JSON.stringify(enabled.body)).toBe(200);
  expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
});

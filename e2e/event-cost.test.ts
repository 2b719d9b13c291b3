import { queueNames } from '@relay/common';
import amqp from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventReceiver } from './support/event-receiver.js';
import { SUBSCRIPTION_CACHE_WAIT_MS } from './support/events-stack.js';
import { reply, TestServer } from './support/http-servers.js';
import { RABBITMQ_URL, waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * A job nobody listens to costs no event message (issue 14, "Cost"). The
 * backend's side is read on the broker: with no worker running, the events
 * queue holds exactly the `created` messages of the jobs someone listens to
 * (two control jobs), none of the others'. The worker's side is read in its
 * metrics once every job has run: it delivered exactly the control jobs'
 * events, and nothing reached the dead letters (an event message without a
 * destination would be undecodable there).
 */
let stack: Stack;
const receiver = new EventReceiver();
const target = new TestServer();

beforeAll(async () => {
  await Promise.all([receiver.listen(), target.listen()]);
  target.on('/ok', (_req, res) => reply(res, 200));
  stack = await startStack('event-cost', { workers: 0, env: { EVENT_RETRY_DELAY_MS: '50', EVENT_MAX_ATTEMPTS: '3' } });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([receiver.close(), target.close()]);
});

async function readyMessages(queue: string): Promise<number> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(queue)).messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

async function eventDeliveries(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('relay_event_deliveries_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

it('publishes no event message for a job with no webhook and no matching subscription', async () => {
  const names = queueNames(stack.prefix);
  const api = stack.api;
  // The application (RELAY_AUTH off: the default one) has a subscription, but for other jobs.
  const sub = await api.json('POST', '/api/subscriptions', {
    name: 'watched only',
    url: receiver.route('/watched'),
    events: ['*'],
    filters: { metadata: { watch: 'yes' } },
  });
  expect(sub.status, JSON.stringify(sub.body)).toBe(201);
  await new Promise((r) => setTimeout(r, SUBSCRIPTION_CACHE_WAIT_MS));

  const quiet: string[] = [];
  for (let i = 0; i < 20; i++) {
    const metadata = i % 2 ? { watch: 'no' } : { other: 'yes' };
    quiet.push(await api.submitOk({ targetUrl: target.url('/ok'), metadata, callbackUrl: target.url('/ok') }));
  }
  expect(await readyMessages(names.events)).toBe(0);

  // The check can fail: a job someone listens to puts its `created` there.
  const hooked = await api.submitOk({ targetUrl: target.url('/ok'), webhooks: { '*': receiver.route('/hook') } });
  const watched = await api.submitOk({ targetUrl: target.url('/ok'), metadata: { watch: 'yes' } });
  expect(await readyMessages(names.events)).toBe(2);

  const worker = await stack.addWorker();
  for (const jobId of [...quiet, hooked, watched]) await api.waitFinal(jobId);
  await receiver.waitAt('/hook', (e) => e.length >= 3, 'the hooked job’s three events');
  await receiver.waitAt('/watched', (e) => e.length >= 3, 'the watched job’s three events');
  await waitFor(async () => (await eventDeliveries(worker.metricsPort)) >= 6, 10_000, 'six deliveries counted');
  await new Promise((r) => setTimeout(r, 700));

  expect(receiver.at('/hook').map((e) => [e.body.jobId, e.body.event])).toEqual([
    [hooked, 'created'],
    [hooked, 'started'],
    [hooked, 'completed'],
  ]);
  expect(receiver.at('/watched').map((e) => [e.body.jobId, e.body.event])).toEqual([
    [watched, 'created'],
    [watched, 'started'],
    [watched, 'completed'],
  ]);
  expect(await eventDeliveries(worker.metricsPort)).toBe(6);
  expect(await readyMessages(names.events)).toBe(0);
  expect(await readyMessages(names.deadLetters)).toBe(0);
});

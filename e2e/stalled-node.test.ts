import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestServer } from './support/http-servers.js';
import { RABBITMQ_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * A RabbitMQ node that keeps the backend's connection open but answers
 * nothing: a node busy stopping, a hung one, a half-open link. Here a TCP
 * proxy, first in RABBITMQ_URLS, holds every byte the broker sends while
 * the backend's publishes still reach it. The backend must leave that node
 * for the next URL after one publish timeout (PUBLISH_TIMEOUT_MS, 1 s here)
 * rather than when the heartbeat gives up on it (two missed 10 s beats).
 * What it sent meanwhile was answered 503 ACCEPT_UNCERTAIN and still runs:
 * the broker has it.
 */
const proxy = new TcpProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
const target = new TestServer();
let stack: Stack;

beforeAll(async () => {
  await Promise.all([proxy.start(), target.listen()]);
  target.on('/ok', (_req, res) => res.end('ok'));
  const viaProxy = new URL(RABBITMQ_URL);
  viaProxy.port = String(proxy.port);
  stack = await startStack('stalled-node', {
    env: {
      RABBITMQ_URLS: `${viaProxy.toString()},${RABBITMQ_URL}`,
      RABBITMQ_URL: viaProxy.toString(),
      PUBLISH_TIMEOUT_MS: '1000',
    },
    workers: 0,
  });
  // The worker goes to the broker directly: only the backend meets the stalled node.
  await stack.addWorker({ RABBITMQ_URLS: RABBITMQ_URL, RABBITMQ_URL });
});

afterAll(async () => {
  proxy.releaseDownstream();
  await stack?.stop();
  await Promise.all([proxy.stop(), target.close()]);
});

it('a node that stops answering is left for the next one after one publish timeout; what was sent meanwhile runs', async () => {
  const spec = { targetUrl: target.url('/ok') };
  const before = await stack.api.submitOk(spec);
  expect((await stack.api.waitFinal(before, 20_000)).status).toBe('completed');

  proxy.holdDownstream();
  const answers: { status: number; code?: string; jobId?: string; ms: number }[] = [];
  const heldAt = Date.now();
  // Well inside the 20-30 s the heartbeat would take: a 202 here came through another node.
  while (Date.now() - heldAt < 10_000 && !answers.some((a) => a.status === 202)) {
    const res = await stack.api.submit(spec);
    const body = res.body as { code?: string; jobId?: string };
    answers.push({ status: res.status, code: body.code, jobId: body.jobId, ms: Date.now() - heldAt });
  }
  const summary = JSON.stringify(answers);
  // The first publish went to the node and got no confirm: uncertain, with the job's id.
  expect(answers[0], summary).toMatchObject({ status: 503, code: 'RELAY_ERR_ACCEPT_UNCERTAIN' });
  expect(answers.at(-1)?.status, summary).toBe(202);
  await stack.backend.waitForLine('leaving the node for the next one', 1000);
  proxy.releaseDownstream();

  // Everything that got a job id ends, the uncertain ones included: the broker had them.
  const ids = answers.filter((a) => a.jobId).map((a) => a.jobId!);
  expect(ids.length).toBeGreaterThanOrEqual(2);
  for (const id of ids) expect((await stack.api.waitFinal(id, 20_000)).status, id).toBe('completed');
});

import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNames } from '@relay/common';
import { reply, TestServer } from './support/http-servers.js';
import { RABBITMQ_URL, readEverything, REDIS_URL, waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * With RELAY_SECRET_KEY set, a job's credential headers are on the broker
 * (work queue, dead-letter archive) and in Redis only sealed; the target
 * still gets them in clear, on the first run and on a replay.
 */
let stack: Stack;
const target = new TestServer();
const TOKEN = `Bearer sealed-${randomBytes(8).toString('hex')}`;
const API_KEY = `key-${randomBytes(8).toString('hex')}`;

beforeAll(async () => {
  await target.listen();
  // No worker yet: the first job's message waits on the work queue to be read.
  stack = await startStack('sealed', { workers: 0, env: { RELAY_SECRET_KEY: randomBytes(32).toString('base64') } });
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
});

/** Reads the broker's copy of `jobId` from `queue`; with `requeue` it is put back for the worker. */
async function brokerCopy(queue: string, jobId: string, requeue: boolean): Promise<string> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    return await waitFor(
      async () => {
        const m = await ch.get(queue, { noAck: false });
        if (!m) return undefined;
        const text = m.content.toString();
        const ours = (JSON.parse(text) as { jobId: string }).jobId === jobId;
        if (ours && requeue) ch.nack(m, false, true);
        else ch.ack(m);
        return ours ? text : undefined;
      },
      10_000,
      `the message of ${jobId} on ${queue}`,
    );
  } finally {
    await conn.close();
  }
}

describe('sealed credential headers', () => {
  it('travel sealed in the work message; the target receives them in clear', async () => {
    target.on('/ok', (_req, res) => reply(res, 200));
    const id = await stack.api.submitOk({
      targetUrl: target.url('/ok'),
      headers: { Authorization: TOKEN, 'X-Api-Key': API_KEY, 'X-Plain': 'visible' },
    });
    const onBroker = await brokerCopy(queueNames(stack.prefix).work, id, true);
    expect(onBroker).not.toContain(TOKEN);
    expect(onBroker).not.toContain(API_KEY);
    const message = JSON.parse(onBroker);
    expect(message.spec.headers).toMatchObject({
      Authorization: '[redacted]',
      'X-Api-Key': '[redacted]',
      'X-Plain': 'visible',
    });
    expect(message.sealedHeaders).toMatch(/^s2\.[0-9a-f]{8}\./);

    await stack.addWorker();
    expect(await stack.api.waitFinal(id)).toMatchObject({ status: 'completed' });
    const [request] = target.requests('/ok');
    expect(request!.headers.authorization).toBe(TOKEN);
    expect(request!.headers['x-api-key']).toBe(API_KEY);
  });

  it('stay sealed in the dead letter; a replay sends them again', async () => {
    let healthy = false;
    target.on('/flip', (_req, res) => reply(res, healthy ? 200 : 500));
    const id = await stack.api.submitOk({
      targetUrl: target.url('/flip'),
      headers: { Authorization: TOKEN },
      maxRetries: 0,
    });
    expect(await stack.api.waitFinal(id)).toMatchObject({ status: 'failed' });
    const deadLetter = await brokerCopy(queueNames(stack.prefix).deadLetters, id, false);
    expect(deadLetter).not.toContain(TOKEN);
    expect(JSON.parse(deadLetter).sealedHeaders).toMatch(/^s2\./);

    const redis = new Redis(REDIS_URL);
    try {
      expect(JSON.stringify([...(await readEverything(redis, stack.prefix))])).not.toContain(TOKEN);
    } finally {
      redis.disconnect();
    }

    healthy = true;
    expect((await stack.api.send('POST', `/api/job/${id}/replay`)).status).toBe(202);
    expect(await stack.api.waitFinal(id)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(target.requests('/flip').map((r) => r.headers.authorization)).toEqual([TOKEN, TOKEN]);
  });
});

describe('sealed credential headers that do not open', () => {
  it('end the job failed with RELAY_ERR_CREDENTIALS_UNREADABLE, without a call; a replay works once the key is back', async () => {
    const sealingKey = randomBytes(32).toString('base64');
    const other = await startStack('sealed-lost-key', { workers: 0, env: { RELAY_SECRET_KEY: sealingKey } });
    try {
      target.on('/lost-key', (_req, res) => reply(res, 200));
      const id = await other.api.submitOk({
        targetUrl: target.url('/lost-key'),
        headers: { Authorization: TOKEN },
        maxRetries: 3,
      });
      // A rotation gone wrong: the worker has a new key and not the one that sealed the message.
      const wrong = await other.addWorker({ RELAY_SECRET_KEY: randomBytes(32).toString('base64') });
      const failed = await other.api.waitFinal(id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
      expect(failed.attemptsLog[0].error).toMatchObject({ code: 'RELAY_ERR_CREDENTIALS_UNREADABLE' });
      expect(failed.attemptsLog[0].error.message).toMatch(/sealed with key [0-9a-f]{8}, which is not configured/);
      expect(failed.attemptsLog[0].retryable).toBe(false);
      expect(target.requests('/lost-key')).toEqual([]);
      const deadLetter = await brokerCopy(queueNames(other.prefix).deadLetters, id, true);
      expect(deadLetter).not.toContain(TOKEN);

      // The sealing key back among the previous keys: the replay opens and is sent.
      await wrong.stop();
      await other.addWorker({
        RELAY_SECRET_KEY: randomBytes(32).toString('base64'),
        RELAY_SECRET_KEYS_PREVIOUS: sealingKey,
      });
      expect((await other.api.send('POST', `/api/job/${id}/replay`)).status).toBe(202);
      expect(await other.api.waitFinal(id)).toMatchObject({ status: 'completed', attempts: 2 });
      expect(target.requests('/lost-key').map((r) => r.headers.authorization)).toEqual([TOKEN]);
    } finally {
      await other.stop();
    }
  });
});

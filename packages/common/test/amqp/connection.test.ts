import { randomBytes } from 'node:crypto';
import type { ConfirmChannel } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import type { AmqpHandle } from '../../src/amqp/amqp-handle.js';
import { connectAmqp } from '../../src/amqp/connection.js';
import {
  channelReopenDelay,
  CHANNEL_REOPEN_MAX_MS,
  reconnectPlan,
  RECONNECT_MAX_MS,
  RECONNECT_MIN_MS,
} from '../../src/amqp/reconnect-plan.js';
import {
  answeredSince,
  MessageReturnedError,
  nackingSince,
  publishConfirmed,
  PublishNackedError,
} from '../../src/amqp/publish.js';
import type { LogSink } from '../../src/logger.js';

/**
 * connectAmqp and publishConfirmed against the real RabbitMQ, on queues with
 * a random name: a channel the broker closes comes back, and a publish no
 * queue takes fails.
 */
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const prefix = `t-amqp-${randomBytes(4).toString('hex')}`;
const lines: { level: string; msg: string }[] = [];
const log: LogSink = {
  info: (_o: unknown, msg?: string) => void lines.push({ level: 'info', msg: msg ?? '' }),
  warn: (_o: unknown, msg?: string) => void lines.push({ level: 'warn', msg: msg ?? '' }),
  error: (_o: unknown, msg?: string) => void lines.push({ level: 'error', msg: msg ?? '' }),
} as LogSink;
const handles: AmqpHandle[] = [];

afterAll(async () => {
  const cleanup = await connectAmqp({ url, log, startupTimeoutMs: 5000, setup: async () => undefined });
  for (const q of [`${prefix}.a`, `${prefix}.b`, `${prefix}.full`])
    await cleanup
      .channel()!
      .deleteQueue(q)
      .catch(() => undefined);
  await cleanup.close();
  for (const h of handles) await h.close();
});

async function until<T>(check: () => T | null | undefined | false, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function connect(
  setup: (ch: ConfirmChannel) => Promise<void>,
  redeclare?: (ch: ConfirmChannel) => Promise<void>,
) {
  const handle = await connectAmqp({ url, log, startupTimeoutMs: 5000, setup, redeclare });
  handles.push(handle);
  return handle;
}

describe('reconnectPlan', () => {
  const none = () => 0;

  it('goes round the nodes in order, starting with the one after the lost node', () => {
    const order = [1, 2, 3, 4, 5, 6, 7].map((n) => reconnectPlan(n, 1, 3, none).index);
    expect(order).toEqual([2, 0, 1, 2, 0, 1, 2]);
    expect([1, 2, 3].map((n) => reconnectPlan(n, 2, 3, none).index)).toEqual([0, 1, 2]);
  });

  it('tries the one node again when there is only one', () => {
    expect([1, 2, 3].map((n) => reconnectPlan(n, 0, 1, none).index)).toEqual([0, 0, 0]);
  });

  it('waits the minimum through the first round, then doubles per full round up to the maximum', () => {
    const delays = Array.from({ length: 18 }, (_, i) => reconnectPlan(i + 1, 0, 3, none).delayMs);
    expect(delays.slice(0, 3)).toEqual([RECONNECT_MIN_MS, RECONNECT_MIN_MS, RECONNECT_MIN_MS]);
    expect(delays.slice(3, 6)).toEqual([200, 200, 200]);
    expect(delays.slice(6, 9)).toEqual([400, 400, 400]);
    expect(delays.at(-1)).toBe(RECONNECT_MAX_MS);
    expect(reconnectPlan(10_000, 0, 3, none).delayMs).toBe(RECONNECT_MAX_MS);
  });

  it('takes up to 20% off at random, never adds', () => {
    expect(reconnectPlan(1, 0, 3, () => 1).delayMs).toBe(80);
    expect(reconnectPlan(1000, 0, 3, () => 0.5).delayMs).toBe(RECONNECT_MAX_MS * 0.9);
  });

  it('treats nonsense counts as one node and attempt 1', () => {
    expect(reconnectPlan(0, 0, 0, none)).toEqual({ index: 0, delayMs: RECONNECT_MIN_MS });
  });
});

describe('channelReopenDelay', () => {
  it('doubles from the minimum, caps at the maximum, and jitters downwards by at most 20%', () => {
    expect(channelReopenDelay(1, () => 0)).toBe(100);
    expect(channelReopenDelay(2, () => 0)).toBe(200);
    expect(channelReopenDelay(4, () => 0)).toBe(800);
    expect(channelReopenDelay(30, () => 0)).toBe(CHANNEL_REOPEN_MAX_MS);
    expect(channelReopenDelay(1, () => 1)).toBe(80);
    expect(channelReopenDelay(0, () => 0)).toBe(100);
  });
});

describe('connectAmqp', () => {
  it('reopens a channel the broker closed with a channel error, and runs setup on the new one', async () => {
    let setups = 0;
    const handle = await connect(async () => {
      setups++;
    });
    const first = handle.channel()!;
    expect(setups).toBe(1);
    // A passive declare of a missing queue: the broker closes the channel (404), the connection stays.
    await expect(first.checkQueue(`${prefix}.missing`)).rejects.toThrow(/404|NOT_FOUND/);
    const second = await until(() => {
      const ch = handle.channel();
      return ch !== null && ch !== first && ch;
    }, 'a new channel');
    expect(setups).toBe(2);
    expect(lines.some((l) => l.msg === 'rabbitmq channel reopened')).toBe(true);
    await second.assertQueue(`${prefix}.a`, { durable: false, autoDelete: false });
    await expect(publishConfirmed(second, { queue: `${prefix}.a` }, Buffer.from('{}'), 5000)).resolves.toBeUndefined();
  });
});

describe('a node that stops answering (leaveStalledNode)', () => {
  it('records when the broker last answered a channel', async () => {
    const handle = await connect(async (ch) => {
      await ch.assertQueue(`${prefix}.a`, { durable: false });
    });
    const ch = handle.channel()!;
    const before = Date.now();
    expect(answeredSince(ch, before)).toBe(false);
    await publishConfirmed(ch, { queue: `${prefix}.a` }, Buffer.from('{}'), 5000);
    expect(answeredSince(ch, before)).toBe(true);
    expect(answeredSince(ch, Date.now() + 1)).toBe(false);
  });

  it('keeps a node that answered since the timed-out publish, and leaves one that did not', async () => {
    const handle = await connectAmqp({
      url,
      log,
      startupTimeoutMs: 5000,
      leaveStalledNode: true,
      setup: async (ch) => {
        await ch.assertQueue(`${prefix}.a`, { durable: false });
      },
    });
    handles.push(handle);
    const first = handle.channel()!;
    const sentAt = Date.now();
    await publishConfirmed(first, { queue: `${prefix}.a` }, Buffer.from('{}'), 5000);
    // Answered after sentAt: one slow confirm, not a stalled node.
    expect(handle.publishTimedOut(first, sentAt)).toBe(false);
    expect(handle.channel()).toBe(first);
    // Nothing answered since: the connection is dropped and made again (here, on the one node).
    expect(handle.publishTimedOut(first, Date.now() + 1)).toBe(true);
    expect(handle.channel()).toBeNull();
    await until(() => lines.some((l) => l.msg === 'rabbitmq reconnected'), 'the reconnection');
    const second = await until(() => handle.channel(), 'a new channel');
    expect(second).not.toBe(first);
    // A channel that is not the current one any more is not acted on twice.
    expect(handle.publishTimedOut(first, Date.now() + 1)).toBe(false);
  });
});

describe('a channel the broker nacks every publish on (publishNacked)', () => {
  it('reopens the channel after a second of nothing but nacks, then leaves the node if the new one nacks too', async () => {
    // A queue that holds nothing and refuses what it cannot hold: every publish is nacked.
    const full = `${prefix}.full`;
    const handle = await connect(async (ch) => {
      await ch.assertQueue(`${prefix}.a`, { durable: false });
      await ch.assertQueue(full, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    });
    const nack = () => handle.publish({ queue: full }, Buffer.from('{}'), 5000);
    const first = handle.channel()!;
    await expect(nack()).rejects.toBeInstanceOf(PublishNackedError);
    const since = nackingSince(first);
    expect(since).not.toBeNull();
    // A nack alone is a refusal, not a broken channel.
    expect(handle.publishNacked(first)).toBe(false);
    expect(handle.channel()).toBe(first);
    // A confirm in between ends the run of nacks.
    await handle.publish({ queue: `${prefix}.a` }, Buffer.from('{}'), 5000);
    expect(nackingSince(first)).toBeNull();

    const reconnectedBefore = lines.filter((l) => l.msg === 'rabbitmq reconnected').length;
    const reopenedBefore = lines.filter((l) => l.msg === 'rabbitmq channel reopened').length;
    await expect(nack()).rejects.toBeInstanceOf(PublishNackedError);
    await new Promise((r) => setTimeout(r, 1100));
    // Every answer for a second was a nack: this one reopens the channel.
    await expect(nack()).rejects.toBeInstanceOf(PublishNackedError);
    expect(handle.channel()).toBeNull();
    await until(
      () => lines.filter((l) => l.msg === 'rabbitmq channel reopened').length > reopenedBefore,
      'the channel reopened',
    );
    const second = handle.channel()!;
    expect(second).not.toBe(first);
    expect(lines.filter((l) => l.msg === 'rabbitmq reconnected').length).toBe(reconnectedBefore);

    // The new channel is nacked too: once the 5 s between recoveries are over, the node is left.
    const until5s = Date.now() + 6000;
    while (handle.channel() === second && Date.now() < until5s) {
      await nack().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(handle.channel()).not.toBe(second);
    await until(
      () => lines.filter((l) => l.msg === 'rabbitmq reconnected').length > reconnectedBefore,
      'the reconnection',
    );
    expect(lines.some((l) => l.msg.startsWith('rabbitmq nacks every publish on a reopened channel too'))).toBe(true);
  }, 20_000);
});

describe('publishConfirmed', () => {
  it('rejects a mandatory publish that no queue takes with MessageReturnedError', async () => {
    const handle = await connect(async () => undefined);
    const err = await publishConfirmed(handle.channel(), { queue: `${prefix}.nowhere` }, Buffer.from('{}'), 5000).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MessageReturnedError);
    expect((err as MessageReturnedError).routingKey).toBe(`${prefix}.nowhere`);
  });

  it('tells a returned publish from a routed one on the same channel', async () => {
    const handle = await connect(async (ch) => {
      await ch.assertQueue(`${prefix}.a`, { durable: false });
    });
    const ch = handle.channel();
    const results = await Promise.allSettled(
      [`${prefix}.a`, `${prefix}.nowhere`, `${prefix}.a`, `${prefix}.nowhere`].map((queue) =>
        publishConfirmed(ch, { queue }, Buffer.from('{}'), 5000),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
  });

  it('declares the topology again after a return, so the next publish routes', async () => {
    const queue = `${prefix}.b`;
    const declare = async (ch: ConfirmChannel) => {
      await ch.assertQueue(queue, { durable: false });
    };
    const handle = await connect(declare, declare);
    await handle.channel()!.deleteQueue(queue);
    await expect(publishConfirmed(handle.channel(), { queue }, Buffer.from('{}'), 5000)).rejects.toBeInstanceOf(
      MessageReturnedError,
    );
    await until(() => lines.some((l) => l.msg.includes('declaring the topology again')), 'the redeclare');
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await publishConfirmed(handle.channel(), { queue }, Buffer.from('{}'), 5000).then(
        () => true,
        () => false,
      );
      if (!ok) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ok).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { queueNames } from '@relay/common';

export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test uses, for Redis keys and queue names. */
export function randomPrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}

/** Keys under `prefix` (SCAN: fine for tests, never on relay's request path). */
export async function keysWithPrefix(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/**
 * Every key whose name starts with `prefix`, with its value read according to
 * its type (SCAN and plain reads, no DUMP), for tests that search everything
 * relay stored.
 */
export async function readEverything(redis: Redis, prefix: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') out.set(key, await redis.get(key));
      else if (type === 'hash') out.set(key, await redis.hgetall(key));
      else if (type === 'zset') out.set(key, await redis.zrange(key, 0, -1, 'WITHSCORES'));
      else if (type === 'set') out.set(key, await redis.smembers(key));
      else if (type === 'list') out.set(key, await redis.lrange(key, 0, -1));
      else if (type === 'stream') out.set(key, await redis.xrange(key, '-', '+'));
      else if (type !== 'none') throw new Error(`${key}: unexpected type ${type}`);
    }
    cursor = next;
  } while (cursor !== '0');
  return out;
}

/** Removes every key and queue a test created under `prefix`. */
export async function cleanup(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await keysWithPrefix(redis, prefix);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    // Both layouts: a test may run its stack with either RELAY_QUEUE_TYPE.
    for (const names of [queueNames(prefix, 'quorum'), queueNames(prefix, 'classic')]) {
      for (const q of names.allQueues()) await ch.deleteQueue(q);
      await ch.deleteExchange(names.deadLetterExchange);
      if (names.dueExchange) await ch.deleteExchange(names.dueExchange);
    }
  } finally {
    await conn.close();
  }
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

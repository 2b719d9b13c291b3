import type { Redis } from 'ioredis';

/**
 * What Redis holds: `used_memory` of the whole server, and the keys and bytes
 * (MEMORY USAGE over a SCAN) under one prefix. Redis is shared, so a scenario
 * judges on its own prefix's bytes, which other tests cannot distort, and
 * reports the server's figure beside them.
 */
export interface RedisMemory {
  usedMemory: number;
  prefixKeys: number;
  prefixBytes: number;
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

export async function redisMemory(redis: Redis, prefix: string): Promise<RedisMemory> {
  let prefixKeys = 0;
  let prefixBytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key);
    for (const [err, bytes] of (await pipeline.exec()) ?? []) {
      // A key that expired between the SCAN and MEMORY USAGE answers null.
      if (!err && typeof bytes === 'number') {
        prefixKeys++;
        prefixBytes += bytes;
      }
    }
  } while (cursor !== '0');
  return { usedMemory: await usedMemory(redis), prefixKeys, prefixBytes };
}

export function formatMemory(m: RedisMemory): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
  return `used_memory ${mib(m.usedMemory)}; prefix ${m.prefixKeys} keys, ${mib(m.prefixBytes)}`;
}

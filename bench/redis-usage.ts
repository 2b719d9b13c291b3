/**
 * What relay keeps in Redis per job, measured on the benchmark's own prefix
 * (the Redis is shared, so INFO's used_memory moves with everyone else's
 * keys too; MEMORY USAGE of our keys does not).
 */
import { connectRedis, createLogger } from '@relay/common';

type Redis = Awaited<ReturnType<typeof connectRedis>>;

/** A job hash: `<prefix>:job:<uuid>` (its spec is `…:spec`, its attempt log `…:log`). */
const JOB_KEY = /:job:[0-9a-f-]{36}$/;

export interface PrefixUsage {
  /** Sum of MEMORY USAGE … SAMPLES 0 (every element counted) over every key under the prefix. */
  bytes: number;
  keys: number;
  /** Job hashes found: the jobs these bytes are for. */
  jobs: number;
  /** The same bytes split by kind of key. */
  byKind: { jobHashes: number; specs: number; attemptLogs: number; indexes: number; other: number };
}

export class RedisUsage {
  private constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  static async connect(url: string, prefix: string): Promise<RedisUsage> {
    const log = createLogger({ name: 'bench', level: 'silent' });
    return new RedisUsage(await connectRedis({ target: { kind: 'url', url, username: '', password: '' }, log, startupTimeoutMs: 5000 }), prefix);
  }

  private async scan(pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await each(keys);
      cursor = next;
    } while (cursor !== '0');
  }

  /**
   * Deletes the prefix's jobs and their indexes (between measures, once every
   * job has called back), so each measure starts from an empty store and
   * Redis does not fill up over a long run. Counters and rate-limit windows
   * stay. UNLINK frees the memory off Redis's main thread.
   */
  async resetJobs(): Promise<void> {
    const drop = async (keys: string[]) => void (await this.redis.unlink(...keys));
    await this.scan(`${this.prefix}:job:*`, drop);
    await this.scan(`${this.prefix}:app:*:idx:*`, drop);
  }

  /** Deletes every key under the prefix (at the end). */
  async resetAll(): Promise<void> {
    await this.scan(`${this.prefix}:*`, async (keys) => void (await this.redis.unlink(...keys)));
  }

  async usage(): Promise<PrefixUsage> {
    const out: PrefixUsage = {
      bytes: 0,
      keys: 0,
      jobs: 0,
      byKind: { jobHashes: 0, specs: 0, attemptLogs: 0, indexes: 0, other: 0 },
    };
    await this.scan(`${this.prefix}:*`, async (keys) => {
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', 0);
      const results = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const bytes = Number(results[i]?.[1] ?? 0);
        out.bytes += bytes;
        out.keys++;
        if (JOB_KEY.test(key)) {
          out.jobs++;
          out.byKind.jobHashes += bytes;
        } else if (key.endsWith(':spec')) out.byKind.specs += bytes;
        else if (key.endsWith(':log')) out.byKind.attemptLogs += bytes;
        else if (key.includes(':idx:')) out.byKind.indexes += bytes;
        else out.byKind.other += bytes;
      });
    });
    return out;
  }

  /** INFO memory used_memory: the whole server's, so only a cross-check on a shared Redis. */
  async usedMemory(): Promise<number> {
    return Number((await this.redis.info('memory')).match(/used_memory:(\d+)/)?.[1] ?? Number.NaN);
  }

  async version(): Promise<string> {
    return (await this.redis.info('server')).match(/redis_version:(\S+)/)?.[1] ?? 'unknown';
  }

  close(): void {
    this.redis.disconnect();
  }
}

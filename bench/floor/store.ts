/**
 * The durable floor's Redis writes: each is one round trip (a MULTI), and
 * every key it writes carries relay's job TTL, so the floor pays what relay
 * pays to keep a job's record: a hash per job and an attempt log.
 */
import type { Redis } from 'ioredis';

/** relay's default JOB_TTL_SECONDS: a job is kept a day after its last write. */
export const JOB_TTL_SECONDS = 86_400;

export interface FloorKeys {
  job(id: string): string;
  attempts(id: string): string;
  /** SCAN pattern of every key the floor writes. */
  all: string;
}

/** Every key of the floor, under `<prefix>:floor:`. */
export function floorKeys(prefix: string): FloorKeys {
  const base = `${prefix}:floor`;
  return {
    job: (id) => `${base}:job:${id}`,
    attempts: (id) => `${base}:job:${id}:log`,
    all: `${base}:*`,
  };
}

/** What the intake stores and publishes: the submitted body and its id. */
export interface FloorJob {
  jobId: string;
  targetUrl: string;
  method?: string;
  payload?: unknown;
  callbackUrl?: string;
  timeout?: number;
}

/** MULTI/EXEC reports a failed command in its replies, not by rejecting. */
async function exec(multi: ReturnType<Redis['multi']>): Promise<void> {
  const replies = await multi.exec();
  const failed = replies?.find(([err]) => err);
  if (!replies || failed) throw failed?.[0] ?? new Error('MULTI aborted');
}

export class FloorStore {
  constructor(
    private readonly redis: Redis,
    readonly keys: FloorKeys,
  ) {}

  /** The intake's one write: the job, queued, with its TTL. */
  accept(job: FloorJob, spec: string, now: string): Promise<void> {
    const key = this.keys.job(job.jobId);
    return exec(
      this.redis
        .multi()
        .hset(key, 'spec', spec, 'status', 'queued', 'createdAt', now, 'updatedAt', now)
        .expire(key, JOB_TTL_SECONDS),
    );
  }

  markRunning(jobId: string, now: string): Promise<void> {
    const key = this.keys.job(jobId);
    return exec(this.redis.multi().hset(key, 'status', 'running', 'updatedAt', now).expire(key, JOB_TTL_SECONDS));
  }

  /** The attempt appended to the log and the job's final status, both with TTLs. */
  recordAttempt(jobId: string, attempt: string, status: string, now: string): Promise<void> {
    const key = this.keys.job(jobId);
    const log = this.keys.attempts(jobId);
    return exec(
      this.redis
        .multi()
        .rpush(log, attempt)
        .expire(log, JOB_TTL_SECONDS)
        .hset(key, 'status', status, 'attempts', 1, 'updatedAt', now, 'completedAt', now)
        .expire(key, JOB_TTL_SECONDS),
    );
  }

  recordCallback(jobId: string, outcome: string, now: string): Promise<void> {
    const key = this.keys.job(jobId);
    return exec(this.redis.multi().hset(key, 'callback', outcome, 'callbackAt', now).expire(key, JOB_TTL_SECONDS));
  }

  /** Deletes every key the floor wrote (between measures, and at the end). */
  async clear(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', this.keys.all, 'COUNT', 1000);
      if (keys.length) await this.redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

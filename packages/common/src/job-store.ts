import type { Redis } from 'ioredis';
import type { Attempt, AttemptError, CallbackState, JobSpec, JobView, StoredResponse } from './job-schema.js';
import { redactHeaders } from './redact.js';
import { JobStatus } from './status.js';
import type { RedisKeys } from './topology.js';

/**
 * The job record in Redis: one hash for the job (scalar fields plus JSON
 * fields for nested objects) and one hash of attempt number -> attempt JSON.
 * Every write refreshes the TTL of both keys in the same MULTI.
 */

/** Result of trying to start an attempt; see BEGIN_ATTEMPT_LUA. */
export type BeginResult =
  | { outcome: 'run'; attemptsDone: number }
  | { outcome: 'missing' }
  | { outcome: 'final'; status: JobStatus; attemptsDone: number }
  | { outcome: 'stale'; status: JobStatus; attemptsDone: number; nextAttemptAt: string | null }
  | { outcome: 'busy'; status: JobStatus; attemptsDone: number; leaseRemainingMs: number };

/**
 * Atomically decides whether attempt ARGV[1] may run now and, if so, takes
 * the job's lease. The lease (token + expiry in Redis time) keeps two copies of
 * the same attempt message, which at-least-once delivery allows, from calling
 * the target at the same time.
 *
 * KEYS: job hash. ARGV: attempt, leaseToken, leaseMs, nowIso, ttlSeconds,
 * specJson ('' = do not recreate), createdAt.
 */
const BEGIN_ATTEMPT_LUA = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[6] == '' then return {'missing'} end
  redis.call('HSET', KEYS[1], 'spec', ARGV[6], 'status', 'queued', 'attempts', n - 1,
    'createdAt', ARGV[7], 'updatedAt', ARGV[4], 'recreated', '1')
end
local f = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'leaseToken', 'leaseUntil', 'nextAttemptAt')
local status = f[1]
local done = tonumber(f[2]) or 0
if status == 'completed' or status == 'failed' then return {'final', status, done} end
if n <= done then return {'stale', status, done, f[5] or ''} end
if status == 'in_progress' and f[3] ~= ARGV[2] then
  local untilMs = tonumber(f[4]) or 0
  if untilMs > nowMs then return {'busy', status, done, untilMs - nowMs} end
end
redis.call('HSET', KEYS[1], 'status', 'in_progress', 'leaseToken', ARGV[2],
  'leaseUntil', nowMs + tonumber(ARGV[3]), 'updatedAt', ARGV[4], 'nextAttemptAt', '')
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {'run', status, done}
`;

/** Updates the callback state only if the job still exists (never creates a partial hash). */
const SET_CALLBACK_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'callback', ARGV[1], 'updatedAt', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

export interface AttemptRecord {
  attempt: Attempt;
  /** State of the job after this attempt. */
  status: JobStatus;
  nextAttemptAt: string | null;
  /** Set when the job ends and has a callback URL. */
  callback: CallbackState | null;
}

function json(value: unknown): string {
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

function parseJson<T>(raw: string | undefined): T | null {
  return raw ? (JSON.parse(raw) as T) : null;
}

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {
    redis.defineCommand('relayBeginAttempt', { numberOfKeys: 1, lua: BEGIN_ATTEMPT_LUA });
    redis.defineCommand('relaySetCallback', { numberOfKeys: 1, lua: SET_CALLBACK_LUA });
  }

  /** Stores a newly accepted job as `queued`. Credentials in headers are stored redacted. */
  async create(jobId: string, spec: JobSpec, createdAt: string): Promise<void> {
    const key = this.keys.job(jobId);
    await this.redis
      .multi()
      .hset(key, this.initialFields(spec, createdAt))
      .expire(key, this.ttlSeconds)
      .exec()
      .then(assertExec);
  }

  private initialFields(spec: JobSpec, createdAt: string): Record<string, string | number> {
    return {
      spec: JSON.stringify({ ...spec, headers: redactHeaders(spec.headers) }),
      status: JobStatus.queued,
      attempts: 0,
      createdAt,
      updatedAt: createdAt,
    };
  }

  /** Removes a job whose publish failed, so nothing claims to be queued. */
  async delete(jobId: string): Promise<void> {
    await this.redis.del(this.keys.job(jobId), this.keys.attempts(jobId));
  }

  /** The job as the API shows it, or null when there is no such job (or it expired). */
  async get(jobId: string): Promise<JobView | null> {
    const results = await this.redis
      .pipeline()
      .hgetall(this.keys.job(jobId))
      .hgetall(this.keys.attempts(jobId))
      .exec()
      .then(assertExec);
    const job = results[0] as Record<string, string>;
    const attempts = results[1] as Record<string, string>;
    if (!job.spec) return null;
    const spec = JSON.parse(job.spec) as JobSpec;
    const attemptsLog = Object.entries(attempts)
      .map(([, raw]) => JSON.parse(raw) as Attempt)
      .sort((a, b) => a.attempt - b.attempt);
    return {
      jobId,
      status: job.status as JobStatus,
      attempts: Number(job.attempts ?? 0),
      targetUrl: spec.targetUrl,
      method: spec.method,
      headers: spec.headers,
      payload: spec.payload ?? null,
      callbackUrl: spec.callbackUrl ?? null,
      maxRetries: spec.maxRetries,
      retryDelay: spec.retryDelay,
      timeout: spec.timeout,
      createdAt: job.createdAt ?? '',
      updatedAt: job.updatedAt ?? '',
      completedAt: job.completedAt || null,
      nextAttemptAt: job.nextAttemptAt || null,
      lastResponse: parseJson<StoredResponse>(job.lastResponse),
      error: parseJson<AttemptError>(job.error),
      attemptsLog,
      callback: parseJson<CallbackState>(job.callback),
    };
  }

  /**
   * Decides atomically whether `attempt` may run now and takes the lease if so.
   * With `recreateFrom`, a job missing from Redis (expired, or lost in a Redis
   * restart) is recreated from the message's copy of the spec.
   */
  async beginAttempt(
    jobId: string,
    attempt: number,
    lease: { token: string; ms: number },
    recreateFrom?: { spec: JobSpec; createdAt: string },
  ): Promise<BeginResult> {
    const now = new Date().toISOString();
    const spec = recreateFrom ? (this.initialFields(recreateFrom.spec, recreateFrom.createdAt).spec as string) : '';
    const raw = (await (this.redis as unknown as RelayCommands).relayBeginAttempt(
      this.keys.job(jobId),
      attempt,
      lease.token,
      lease.ms,
      now,
      this.ttlSeconds,
      spec,
      recreateFrom?.createdAt ?? now,
    )) as [string, ...(string | number)[]];
    const [outcome, status, done, extra] = raw;
    switch (outcome) {
      case 'missing':
        return { outcome: 'missing' };
      case 'run':
        return { outcome: 'run', attemptsDone: Number(done) };
      case 'final':
        return { outcome: 'final', status: status as JobStatus, attemptsDone: Number(done) };
      case 'stale':
        return {
          outcome: 'stale',
          status: status as JobStatus,
          attemptsDone: Number(done),
          nextAttemptAt: (extra as string) || null,
        };
      default:
        return {
          outcome: 'busy',
          status: status as JobStatus,
          attemptsDone: Number(done),
          leaseRemainingMs: Number(extra),
        };
    }
  }

  /**
   * Writes one attempt and the job's resulting state in a single MULTI, and
   * releases the lease. The attempt entry is keyed by its number, so writing
   * the same attempt twice (after a crash) overwrites instead of duplicating.
   */
  async recordAttempt(jobId: string, record: AttemptRecord): Promise<void> {
    const jobKey = this.keys.job(jobId);
    const attemptsKey = this.keys.attempts(jobId);
    const { attempt } = record;
    const now = new Date().toISOString();
    const fields: Record<string, string | number> = {
      status: record.status,
      attempts: attempt.attempt,
      updatedAt: now,
      nextAttemptAt: record.nextAttemptAt ?? '',
      lastResponse: json(attempt.response),
      error: json(attempt.error),
    };
    if (record.callback) fields.callback = json(record.callback);
    if (record.status === JobStatus.completed || record.status === JobStatus.failed) fields.completedAt = now;
    await this.redis
      .multi()
      .hset(attemptsKey, String(attempt.attempt), JSON.stringify(attempt))
      .hset(jobKey, fields)
      .hdel(jobKey, 'leaseToken', 'leaseUntil')
      .expire(attemptsKey, this.ttlSeconds)
      .expire(jobKey, this.ttlSeconds)
      .exec()
      .then(assertExec);
  }

  /** The callback delivery state, or null when the job has none (or no longer exists). */
  async getCallback(jobId: string): Promise<CallbackState | null> {
    return parseJson<CallbackState>((await this.redis.hget(this.keys.job(jobId), 'callback')) ?? undefined);
  }

  /** Records the callback delivery state; a no-op when the job no longer exists. */
  async setCallback(jobId: string, state: CallbackState): Promise<void> {
    await (this.redis as unknown as RelayCommands).relaySetCallback(
      this.keys.job(jobId),
      JSON.stringify(state),
      new Date().toISOString(),
      this.ttlSeconds,
    );
  }
}

interface RelayCommands {
  relayBeginAttempt(...args: (string | number)[]): Promise<unknown>;
  relaySetCallback(...args: (string | number)[]): Promise<unknown>;
}

/** A MULTI/pipeline result with any per-command error rethrown. */
function assertExec(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

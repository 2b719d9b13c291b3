import type { Redis } from 'ioredis';
import type {
  Attempt,
  AttemptError,
  CallbackState,
  JobSpec,
  JobSummary,
  JobView,
  StoredResponse,
} from './job-schema.js';
import * as lua from './job-store-lua.js';
import { defaultHeaderRedactor, REDACTED, type HeaderRedactor } from './redact.js';
import { sealJson, unsealJson } from './secrets.js';
import { JobStatus, type JobPriority } from './status.js';
import { decodeCallbackState, encodeCallbackState } from './stored-callback.js';
import { DEFAULT_APPLICATION, redisKeys, type RedisKeys } from './topology.js';

/**
 * The job record in Redis: one hash for the job's state (short values, so
 * that Redis packs it), one string for its immutable spec, one list for the
 * attempt log, and sorted-set indexes for listing (see topology.ts). Every
 * write refreshes the TTLs in the same MULTI or Lua script. Readers see the
 * spec as the hash's `spec` field, as it was stored before it had its own
 * key (records of that layout still read).
 */

/** Result of trying to start an attempt; see BEGIN_ATTEMPT. */
export type BeginResult =
  | { outcome: 'run'; attemptsDone: number }
  | { outcome: 'missing' }
  | { outcome: 'final'; status: JobStatus; attemptsDone: number }
  | { outcome: 'stale'; status: JobStatus; attemptsDone: number; nextAttemptAt: string | null }
  | { outcome: 'busy'; status: JobStatus; attemptsDone: number; leaseRemainingMs: number };

export interface AttemptRecord {
  attempt: Attempt;
  /** State of the job after this attempt, as the worker decided it. */
  status: JobStatus;
  nextAttemptAt: string | null;
  /** Callback state to set if the job ends (null when it has no callback). */
  callback: CallbackState | null;
  /** The job was published to the dead-letter exchange. */
  deadLettered: boolean;
}

export type CancelResult =
  | { outcome: 'cancelled' }
  | { outcome: 'requested' }
  | { outcome: 'final'; status: JobStatus }
  | { outcome: 'missing' };

export type ReplayResult =
  { outcome: 'ok'; attemptsDone: number } | { outcome: 'conflict'; status: JobStatus } | { outcome: 'missing' };

/** Counter names of GET /api/metrics (a Redis hash, so all processes add up). */
export type CounterName =
  | 'jobs_created'
  | 'jobs_success'
  | 'jobs_failed'
  | 'jobs_retried'
  | 'jobs_dlq'
  | 'jobs_cancelled'
  | 'callbacks_sent'
  | 'callbacks_failed';

/** Every counter of GET /api/metrics, in the order it shows them. */
export const COUNTER_NAMES = [
  'jobs_created',
  'jobs_processing',
  'jobs_success',
  'jobs_failed',
  'jobs_retried',
  'jobs_dlq',
  'jobs_cancelled',
  'callbacks_sent',
  'callbacks_failed',
] as const;
export type Counters = Record<(typeof COUNTER_NAMES)[number], number>;

export interface CreateJobInput {
  jobId: string;
  spec: JobSpec;
  createdAt: Date;
  requestId: string | null;
  traceId: string;
}

/** What a replay needs: the full spec (credentials unsealed) and the job's identity. */
export interface ReplaySource {
  spec: JobSpec;
  createdAt: string;
  traceId: string;
  /** The job had credential headers that cannot be restored (no RELAY_SECRET_KEY when it was stored). */
  missingSecrets: boolean;
}

/** How many entries of the attempt log GET /api/job/:id embeds (the newest). */
export const EMBEDDED_ATTEMPTS = 100;

/** One job creation in this many trims the indexes it adds to. */
const TRIM_EVERY = 50;

/** Index entries outlive the jobs they point at by this much before they are trimmed. */
const INDEX_SLACK_SECONDS = 86_400;

function json(value: unknown): string {
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

/** Attempt entries from the log list, skipping the '' of attempts whose record was lost. */
function parseAttempts(raw: string[]): Attempt[] {
  return raw.filter((entry) => entry !== '').map((entry) => JSON.parse(entry) as Attempt);
}

function parseJson<T>(raw: string | undefined): T | null {
  return raw ? (JSON.parse(raw) as T) : null;
}

export function targetHost(targetUrl: string): string {
  return new URL(targetUrl).hostname.toLowerCase();
}

interface Commands {
  relayCreate(numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  relayBegin(...args: (string | number)[]): Promise<unknown>;
  relayRecord(...args: (string | number)[]): Promise<unknown>;
  relayCancel(...args: (string | number)[]): Promise<unknown>;
  relayReplay(...args: (string | number)[]): Promise<unknown>;
  relayUndoReplay(...args: (string | number)[]): Promise<unknown>;
  relaySetCallback(...args: (string | number)[]): Promise<unknown>;
}

/**
 * The jobs of one application (`keys.application`): its jobs' records, its
 * indexes and its counters. A job of another application reads as missing.
 * `forApplication` gives the store of another application on the same
 * connection.
 */
export interface JobStoreOptions {
  /** RELAY_PREFIX: every key starts with it. */
  prefix: string;
  /** Whose jobs. @defaultValue DEFAULT_APPLICATION */
  application?: string;
  /** JOB_TTL_SECONDS: how long a job lives after its last write. */
  ttlSeconds: number;
  /** RELAY_SECRET_KEY, or '' to keep credentials out of Redis entirely. @defaultValue '' */
  secretKey?: string;
  /** Which headers are credentials (RELAY_REDACT_HEADERS). @defaultValue the built-in list */
  redactor?: HeaderRedactor;
}

export class JobStore {
  readonly keys: RedisKeys;
  private readonly cmd: Commands;
  private readonly idxTtl: number;
  private readonly ttlSeconds: number;
  private readonly secretKey: string;
  private readonly redactor: HeaderRedactor;

  constructor(
    readonly redis: Redis,
    private readonly options: JobStoreOptions,
  ) {
    this.keys = redisKeys(options.prefix, options.application);
    this.ttlSeconds = options.ttlSeconds;
    this.secretKey = options.secretKey ?? '';
    this.redactor = options.redactor ?? defaultHeaderRedactor;
    this.cmd = redis as unknown as Commands;
    this.idxTtl = this.ttlSeconds + INDEX_SLACK_SECONDS;
    // Scripts are defined once per connection; stores of other applications share them.
    if (typeof this.cmd.relayBegin === 'function') return;
    // The number of index keys varies with the job's metadata: given per call.
    redis.defineCommand('relayCreate', { lua: lua.CREATE });
    redis.defineCommand('relayBegin', { numberOfKeys: 3, lua: lua.BEGIN_ATTEMPT });
    redis.defineCommand('relayRecord', { numberOfKeys: 5, lua: lua.RECORD_ATTEMPT });
    redis.defineCommand('relayCancel', { numberOfKeys: 3, lua: lua.CANCEL });
    redis.defineCommand('relayReplay', { numberOfKeys: 3, lua: lua.REPLAY });
    redis.defineCommand('relayUndoReplay', { numberOfKeys: 2, lua: lua.UNDO_REPLAY });
    redis.defineCommand('relaySetCallback', { numberOfKeys: 3, lua: lua.SET_CALLBACK });
  }

  get application(): string {
    return this.keys.application;
  }

  /** The store of `application`'s jobs, on the same connection. */
  forApplication(application: string): JobStore {
    if (application === this.keys.application) return this;
    return new JobStore(this.redis, { ...this.options, application });
  }

  /** Whether a raw job hash belongs to this store's application. */
  private owns(job: Record<string, string>): boolean {
    return (job.app || DEFAULT_APPLICATION) === this.keys.application;
  }

  /** The spec as stored: credential headers redacted. */
  private storedSpec(spec: JobSpec): string {
    return JSON.stringify({ ...spec, headers: this.redactor.redact(spec.headers) });
  }

  /**
   * Stores a newly accepted job as `queued` and indexes it, in one script.
   * Credential headers are stored redacted, plus sealed when a key is set.
   */
  async create(input: CreateJobInput): Promise<void> {
    const { jobId, spec } = input;
    const k = this.keys;
    const key = k.job(jobId);
    const createdAtMs = input.createdAt.getTime();
    // Only the fields with a value: each field of the hash costs memory (the
    // ISO createdAt is derived from createdAtMs, an absent app is the default).
    const fields: Record<string, string | number> = {
      status: JobStatus.queued,
      attempts: 0,
      createdAtMs,
      updatedAt: input.createdAt.toISOString(),
      traceId: input.traceId,
      host: targetHost(spec.targetUrl),
    };
    if (input.requestId) fields.requestId = input.requestId;
    if (spec.metadata && Object.keys(spec.metadata).length > 0) fields.metadata = json(spec.metadata);
    if (this.keys.application !== DEFAULT_APPLICATION) fields.app = this.keys.application;
    const secrets = this.redactor.secrets(spec.headers);
    if (this.secretKey && Object.keys(secrets).length > 0) fields.sealedHeaders = sealJson(secrets, this.secretKey);

    const indexes = [k.indexAll(), k.indexStatus(JobStatus.queued), k.indexHost(fields.host as string)];
    for (const [mk, mv] of Object.entries(spec.metadata ?? {})) indexes.push(k.indexMetadata(mk, mv));
    // Trimming on one add in TRIM_EVERY is enough to keep an index within its
    // window (a few dozen stale entries at most, which listings skip anyway)
    // and spares Redis a range delete per index per job.
    const trimBefore = Math.random() < 1 / TRIM_EVERY ? createdAtMs - this.idxTtl * 1000 : '';
    await this.cmd.relayCreate(
      3 + indexes.length,
      key,
      k.counters(),
      k.jobSpec(jobId),
      ...indexes,
      this.ttlSeconds,
      this.idxTtl,
      createdAtMs,
      jobId,
      trimBefore,
      this.storedSpec(spec),
      ...Object.entries(fields).flat(),
    );
  }

  /** Removes a job whose publish failed, so nothing claims to be queued. */
  async delete(jobId: string, spec: JobSpec): Promise<void> {
    const k = this.keys;
    const multi = this.redis
      .multi()
      .del(k.job(jobId), k.jobSpec(jobId), k.attempts(jobId))
      .zrem(k.indexAll(), jobId)
      .zrem(k.indexStatus(JobStatus.queued), jobId)
      .zrem(k.indexHost(targetHost(spec.targetUrl)), jobId)
      .hincrby(k.counters(), 'jobs_created', -1);
    for (const [mk, mv] of Object.entries(spec.metadata ?? {})) multi.zrem(k.indexMetadata(mk, mv), jobId);
    await multi.exec().then(assertExec);
  }

  /** The job as the API shows it, or null when there is no such job (or it expired). */
  async get(jobId: string): Promise<JobView | null> {
    const results = await this.redis
      .pipeline()
      .hgetall(this.keys.job(jobId))
      .get(this.keys.jobSpec(jobId))
      .lrange(this.keys.attempts(jobId), -EMBEDDED_ATTEMPTS, -1)
      .llen(this.keys.attempts(jobId))
      .exec()
      .then(assertExec);
    const job = withSpec(results[0] as Record<string, string>, results[1] as string | null);
    if (!job || !this.owns(job)) return null;
    return toView(jobId, job, parseAttempts(results[2] as string[]), results[3] as number);
  }

  /** A page of the attempt log (1-based attempt numbers from `offset + 1`), and the total. */
  async attemptsPage(
    jobId: string,
    offset: number,
    limit: number,
  ): Promise<{ attempts: Attempt[]; total: number } | null> {
    const key = this.keys.attempts(jobId);
    const [job, total, values] = await this.redis
      .pipeline()
      .hmget(this.keys.job(jobId), 'status', 'app')
      .llen(key)
      .lrange(key, offset, offset + limit - 1)
      .exec()
      .then(assertExec);
    const [status, owner] = job as (string | null)[];
    if (!status || (owner || DEFAULT_APPLICATION) !== this.keys.application) return null;
    return { attempts: parseAttempts(values as string[]), total: total as number };
  }

  /** Raw job hashes for many ids in one pipeline (null where missing). */
  async getRawMany(jobIds: string[]): Promise<(Record<string, string> | null)[]> {
    if (jobIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of jobIds) pipeline.hgetall(this.keys.job(id)).get(this.keys.jobSpec(id));
    const results = await pipeline.exec().then(assertExec);
    return jobIds.map((_, i) => {
      const h = withSpec(results[2 * i] as Record<string, string>, results[2 * i + 1] as string | null);
      return h && this.owns(h) ? h : null;
    });
  }

  /** The full spec for a replay: stored spec plus unsealed credential headers. */
  async specForReplay(jobId: string): Promise<ReplaySource | null> {
    const [fields, specKey] = await this.redis
      .pipeline()
      .hmget(this.keys.job(jobId), 'spec', 'sealedHeaders', 'createdAt', 'createdAtMs', 'traceId', 'app')
      .get(this.keys.jobSpec(jobId))
      .exec()
      .then(assertExec);
    const [specField, sealed, createdAt, createdAtMs, traceId, app] = fields as (string | null)[];
    const spec = (specKey as string | null) ?? specField;
    // createdAtMs (or, in old records, createdAt) is in every job hash: without it the job is gone.
    if (!spec || !(createdAtMs || createdAt) || (app || DEFAULT_APPLICATION) !== this.keys.application) return null;
    const parsed = JSON.parse(spec) as JobSpec;
    const base = {
      spec: parsed,
      createdAt: createdAtOf({ createdAt: createdAt ?? '', createdAtMs: createdAtMs ?? '' }),
      traceId: traceId ?? '',
      missingSecrets: false,
    };
    // What was redacted when the job was stored, whatever the list says now.
    if (!Object.values(parsed.headers).includes(REDACTED)) return base;
    if (!sealed || !this.secretKey) return { ...base, missingSecrets: true };
    const secrets = unsealJson<Record<string, string>>(sealed, this.secretKey);
    return { ...base, spec: { ...parsed, headers: { ...parsed.headers, ...secrets } } };
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
    const createdAt = recreateFrom?.createdAt ?? now;
    const raw = (await this.cmd.relayBegin(
      this.keys.job(jobId),
      this.keys.indexAll(),
      this.keys.jobSpec(jobId),
      attempt,
      lease.token,
      lease.ms,
      now,
      this.ttlSeconds,
      recreateFrom ? this.storedSpec(recreateFrom.spec) : '',
      createdAt,
      Date.parse(createdAt) || Date.now(),
      jobId,
      this.keys.indexStatusPrefix(),
      this.idxTtl,
      this.keys.application,
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
   * Writes one attempt and the job's resulting state atomically, and releases
   * the lease. The attempt entry is keyed by its number, so writing the same
   * attempt twice (after a crash) overwrites instead of duplicating. Returns
   * the status written: `cancelled` instead of `retrying` when a cancel
   * arrived during the attempt.
   */
  async recordAttempt(jobId: string, record: AttemptRecord): Promise<JobStatus> {
    const { attempt } = record;
    const now = new Date();
    return (await this.cmd.relayRecord(
      this.keys.job(jobId),
      this.keys.attempts(jobId),
      this.keys.counters(),
      this.keys.indexDead(),
      this.keys.jobSpec(jobId),
      attempt.attempt,
      JSON.stringify(attempt),
      record.status,
      record.nextAttemptAt ?? '',
      attempt.response ? String(attempt.response.statusCode) : '',
      json(attempt.error),
      record.callback ? encodeCallbackState(record.callback) : '',
      now.toISOString(),
      this.ttlSeconds,
      jobId,
      this.keys.indexStatusPrefix(),
      this.idxTtl,
      record.deadLettered ? '1' : '0',
      now.getTime(),
    )) as JobStatus;
  }

  async cancel(jobId: string, pendingCallback: CallbackState | null): Promise<CancelResult> {
    const [outcome, status] = (await this.cmd.relayCancel(
      this.keys.job(jobId),
      this.keys.counters(),
      this.keys.jobSpec(jobId),
      new Date().toISOString(),
      this.ttlSeconds,
      jobId,
      this.keys.indexStatusPrefix(),
      this.idxTtl,
      pendingCallback ? encodeCallbackState(pendingCallback) : '',
    )) as [string, string?];
    if (outcome === 'final') return { outcome, status: status as JobStatus };
    return { outcome: outcome as 'cancelled' | 'requested' | 'missing' };
  }

  async replay(jobId: string, requestId: string | null): Promise<ReplayResult> {
    const [outcome, value] = (await this.cmd.relayReplay(
      this.keys.job(jobId),
      this.keys.indexDead(),
      this.keys.jobSpec(jobId),
      new Date().toISOString(),
      this.ttlSeconds,
      jobId,
      this.keys.indexStatusPrefix(),
      this.idxTtl,
      requestId ?? '',
    )) as [string, string?];
    if (outcome === 'ok') return { outcome, attemptsDone: Number(value) };
    if (outcome === 'conflict') return { outcome, status: value as JobStatus };
    return { outcome: 'missing' };
  }

  /** Reverts a replay whose message could not be published. */
  async undoReplay(jobId: string, attemptsDone: number): Promise<boolean> {
    const restored = await this.cmd.relayUndoReplay(
      this.keys.job(jobId),
      this.keys.indexDead(),
      attemptsDone,
      jobId,
      this.keys.indexStatusPrefix(),
      this.idxTtl,
    );
    return restored === 1;
  }

  /** The callback delivery state, or null when the job has none (or no longer exists). */
  async getCallback(jobId: string): Promise<CallbackState | null> {
    return decodeCallbackState(await this.redis.hget(this.keys.job(jobId), 'callback'));
  }

  /**
   * Records the callback delivery state (a no-op when the job no longer
   * exists) and bumps `counter` when given.
   */
  async setCallback(jobId: string, state: CallbackState, counter: CounterName | null = null): Promise<void> {
    await this.cmd.relaySetCallback(
      this.keys.job(jobId),
      this.keys.counters(),
      this.keys.jobSpec(jobId),
      encodeCallbackState(state),
      new Date().toISOString(),
      this.ttlSeconds,
      counter ?? '',
    );
  }

  /**
   * The counters of this store's application, or with `applications` the sum
   * over those applications, plus jobs running right now (from the
   * in_progress indexes). Counters live in Redis so all processes add up.
   */
  async counters(applications: readonly string[] = [this.keys.application]): Promise<Counters> {
    const pipeline = this.redis.pipeline();
    for (const application of applications) {
      const keys = redisKeys(this.options.prefix, application);
      pipeline.hgetall(keys.counters()).zcard(keys.indexStatus(JobStatus.inProgress));
    }
    const results = await pipeline.exec().then(assertExec);
    const totals = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Counters;
    for (let i = 0; i < results.length; i += 2) {
      const raw = results[i] as Record<string, string>;
      for (const name of COUNTER_NAMES) if (name !== 'jobs_processing') totals[name] += Number(raw[name] ?? 0);
      totals.jobs_processing += results[i + 1] as number;
    }
    return totals;
  }
}

/**
 * The raw hash with the spec from its own key (or, in records stored before
 * it had one, from the hash), or null when the job does not exist.
 */
function withSpec(job: Record<string, string>, spec: string | null): Record<string, string> | null {
  if (!job.status) return null;
  if (spec) return { ...job, spec };
  return job.spec ? job : null;
}

/** The ISO creation time: stored only as epoch ms since it can be derived (older records have both). */
function createdAtOf(job: Record<string, string>): string {
  if (job.createdAt) return job.createdAt;
  const ms = Number(job.createdAtMs);
  return Number.isFinite(ms) && job.createdAtMs ? new Date(ms).toISOString() : '';
}

/** Builds the API view from the raw hash. */
export function toView(jobId: string, job: Record<string, string>, log: Attempt[], logTotal: number): JobView {
  const spec = JSON.parse(job.spec!) as JobSpec;
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
    metadata: spec.metadata ?? {},
    priority: (spec.priority ?? 'normal') as JobPriority,
    createdAt: createdAtOf(job),
    updatedAt: job.updatedAt ?? '',
    completedAt: job.completedAt || null,
    nextAttemptAt: job.nextAttemptAt || null,
    // Records written before lastResponse was dropped from the hash still have it.
    lastResponse: log.at(-1)?.response ?? parseJson<StoredResponse>(job.lastResponse),
    error: parseJson<AttemptError>(job.error),
    attemptsLog: log,
    attemptsLogTotal: logTotal,
    callback: decodeCallbackState(job.callback),
    requestId: job.requestId || null,
    traceId: job.traceId || null,
    replays: Number(job.replays ?? 0),
    cancelRequested: job.cancelRequested === '1',
    deadLetteredAt: job.deadLetteredAt || null,
  };
}

/** Builds a list entry from the raw hash. */
export function toSummary(jobId: string, job: Record<string, string>): JobSummary {
  const spec = JSON.parse(job.spec!) as JobSpec;
  const lastStatusCode = job.lastStatusCode
    ? Number(job.lastStatusCode)
    : (parseJson<StoredResponse>(job.lastResponse)?.statusCode ?? null);
  return {
    jobId,
    status: job.status as JobStatus,
    attempts: Number(job.attempts ?? 0),
    targetUrl: spec.targetUrl,
    method: spec.method,
    priority: (spec.priority ?? 'normal') as JobPriority,
    metadata: spec.metadata ?? {},
    createdAt: createdAtOf(job),
    updatedAt: job.updatedAt ?? '',
    completedAt: job.completedAt || null,
    nextAttemptAt: job.nextAttemptAt || null,
    lastStatusCode,
    error: parseJson<AttemptError>(job.error),
    callbackStatus: decodeCallbackState(job.callback)?.status ?? null,
    deadLetteredAt: job.deadLetteredAt || null,
    replays: Number(job.replays ?? 0),
  };
}

/** A MULTI/pipeline result with any per-command error rethrown. */
export function assertExec(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

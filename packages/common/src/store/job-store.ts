import type { Redis } from 'ioredis';
import type { Attempt, CallbackState, JobSpec, JobView } from '../job-schema.js';
import { DEFAULT_APPLICATION, redisKeys, type RedisKeys } from '../keys/redis-keys.js';
import { defaultHeaderRedactor, REDACTED, type HeaderRedactor } from '../redact.js';
import { ServiceUnavailableError } from '../errors.js';
import { quotaError } from '../quotas.js';
import { jobHeadersAad, unsealJson, type SecretKeys } from '../secrets.js';
import { CallbackStatus, JobStatus } from '../status.js';
import { decodeCallbackState, encodeCallbackState } from './callback-state.js';
import { EVENT_COUNTERS, readCounters, type CounterName, type Counters } from './counters.js';
import { newJobFields, summaryFields, targetHost } from './job-fields.js';
import { ownedBy, readAttemptsPage, readListedHashes, type AttemptsPage } from './job-reads.js';
import { IndexRefreshGate } from './index-refresh.js';
import { indexSlackSeconds, TRIM_EVERY } from './index-window.js';
import * as scripts from './job-scripts.js';
import {
  DEFAULT_ATTEMPT_LOG_MAX,
  type AttemptRecord,
  type BeginResult,
  type CancelResult,
  type CreateJobInput,
  type JobStoreOptions,
  type ReplayResult,
  type ReplaySource,
} from './job-store-types.js';
import { parseAttempts, toView, withSpec } from './job-views.js';
import { ReplicaGate } from './replica-gate.js';
import { createQuotaArgs } from './quota-args.js';
import { execAll, onRedis } from './redis-exec.js';

/**
 * The job record in Redis: one hash for the job's state (short values, so
 * that Redis packs it; `v` is its layout version), one string for its
 * immutable spec, one list for the attempt log, and sorted-set indexes for
 * listing (see keys/redis-keys.ts). Every write refreshes the TTLs in the same
 * MULTI or Lua script (lua/*.lua). A failure of Redis throws
 * ServiceUnavailableError (redis-exec.ts).
 */

/** How many entries of the attempt log GET /api/job/:id embeds (the newest). */
export const EMBEDDED_ATTEMPTS = 100;

export class JobStore {
  readonly keys: RedisKeys;
  private readonly idxTtl: number;
  private readonly ttlSeconds: number;
  /** RELAY_SECRET_KEY and earlier keys: what seals credential headers here and in messages. */
  readonly secretKey: SecretKeys;
  readonly redactor: HeaderRedactor;
  private readonly logMax: number;
  private readonly replicaGate: ReplicaGate;
  private readonly indexRefresh: IndexRefreshGate;

  constructor(
    readonly redis: Redis,
    private readonly options: JobStoreOptions,
  ) {
    this.keys = redisKeys(options.prefix, options.application);
    this.ttlSeconds = options.ttlSeconds;
    const key = options.secretKey ?? '';
    this.secretKey = typeof key === 'string' ? { current: key } : key;
    this.redactor = options.redactor ?? defaultHeaderRedactor;
    this.idxTtl = this.ttlSeconds + indexSlackSeconds(this.ttlSeconds);
    this.logMax = options.attemptLogMax ?? DEFAULT_ATTEMPT_LOG_MAX;
    // One gate for every application's store on this connection (forApplication shares it).
    this.replicaGate = options.replicaGate ?? new ReplicaGate(options.waitTimeoutMs ?? 500);
    if (options.indexRefresh) {
      this.indexRefresh = options.indexRefresh;
    } else {
      const gate = new IndexRefreshGate();
      for (const connection of new Set([redis, options.intakeRedis ?? redis]))
        connection.on('ready', () => gate.clear());
      this.indexRefresh = gate;
    }
  }

  get application(): string {
    return this.keys.application;
  }

  /** The store of `application`'s jobs, on the same connection. */
  forApplication(application: string): JobStore {
    if (application === this.keys.application) return this;
    return new JobStore(this.redis, {
      ...this.options,
      application,
      replicaGate: this.replicaGate,
      indexRefresh: this.indexRefresh,
    });
  }

  /** Whether a raw job hash belongs to this store's application (no `app` field: the default one). */
  private owns(job: Record<string, string | null | undefined>): boolean {
    return ownedBy(job, this.keys.application);
  }

  /** The spec as stored: credential headers redacted. */
  private storedSpec(spec: JobSpec): string {
    return JSON.stringify({ ...spec, headers: this.redactor.redact(spec.headers) });
  }

  /** Entries scored below this are older than the index window: trimmed on one call in TRIM_EVERY. */
  private trimBefore(nowMs: number = Date.now()): number | '' {
    return Math.random() < 1 / TRIM_EVERY ? nowMs - this.idxTtl * 1000 : '';
  }

  /** Keys and arguments every status-moving script takes. */
  private indexing(jobId: string) {
    return { jobId, statusPrefix: this.keys.indexStatusPrefix(), idxTtl: this.idxTtl, trimBefore: this.trimBefore() };
  }

  /**
   * Stores a newly accepted job as `queued` and indexes it, in one script.
   * Credential headers are stored redacted, plus sealed when a key is set.
   */
  async create(input: CreateJobInput): Promise<void> {
    const { jobId, spec } = input;
    const k = this.keys;
    const createdAtMs = input.createdAt.getTime();
    const fields = newJobFields(input, this.keys.application, this.redactor.secrets(spec.headers), this.secretKey);

    const indexes = [k.indexAll(), k.indexStatus(JobStatus.queued), k.indexHost(fields.host as string)];
    for (const [mk, mv] of Object.entries(spec.metadata ?? {})) indexes.push(k.indexMetadata(mk, mv));
    const specJson = this.storedSpec(spec);
    const refreshIndexes = this.indexRefresh.due(indexes, Date.now());
    const waitReplicas = this.options.waitReplicas ?? 0;
    const intake = waitReplicas > 0 ? (this.options.intakeRedis ?? this.redis) : this.redis;
    const app = this.keys.application;
    if (waitReplicas > 0 && !this.replicaGate.admit(app, Date.now())) {
      throw new ServiceUnavailableError(
        'Redis',
        new Error(`fewer than ${waitReplicas} replicas answer; refused at once`),
      );
    }
    const created = scripts.createJob(intake, {
      keys: { job: k.job(jobId), counters: k.counters(), spec: k.jobSpec(jobId), deadlines: k.deadlines(), indexes },
      ttlSeconds: this.ttlSeconds,
      idxTtl: refreshIndexes ? this.idxTtl : '',
      createdAtMs,
      jobId,
      trimBefore: this.trimBefore(createdAtMs),
      specJson,
      fields,
      quota: createQuotaArgs(k, this.options.quotas, { spec, specJson, ttlSeconds: this.ttlSeconds }),
      wait: waitReplicas > 0 ? { replicas: waitReplicas, timeoutMs: this.options.waitTimeoutMs ?? 500 } : null,
    });
    const written = created.then((result) => {
      if (refreshIndexes && !result.refusal) this.indexRefresh.refreshed(indexes, Date.now());
      return result;
    });
    if (waitReplicas === 0) {
      const { refusal } = await written;
      if (refusal) throw quotaError(refusal);
      return;
    }
    // Not on enough replicas to survive the master's loss (or the wait
    // failed): refused (503) rather than promised. Removed so that it does
    // not run unannounced; should the removal fail too, the reconciler runs
    // it, and a client that submits again gets it twice (docs/guarantees.md).
    const outcome = await written.catch((err: unknown) => err as Error);
    const enough = !(outcome instanceof Error) && (outcome.refusal !== null || (outcome.replicas ?? 0) >= waitReplicas);
    this.replicaGate.settle(app, enough, Date.now());
    if (!(outcome instanceof Error)) {
      if (outcome.refusal) throw quotaError(outcome.refusal);
      if (enough) return;
    }
    await this.delete(jobId, spec).catch(() => undefined);
    throw outcome instanceof Error
      ? outcome
      : new ServiceUnavailableError(
          'Redis',
          new Error(`${outcome.replicas} of ${waitReplicas} replicas acknowledged the job in time`),
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
      .zrem(k.deadlines(), jobId)
      .zrem(k.indexHost(targetHost(spec.targetUrl)), jobId)
      .hincrby(k.counters(), EVENT_COUNTERS.created, -1);
    for (const [mk, mv] of Object.entries(spec.metadata ?? {})) multi.zrem(k.indexMetadata(mk, mv), jobId);
    await execAll(multi);
  }

  /** The job as the API shows it, or null when there is no such job (or it expired). */
  async get(jobId: string): Promise<JobView | null> {
    const results = await execAll(
      this.redis
        .pipeline()
        .hgetall(this.keys.job(jobId))
        .get(this.keys.jobSpec(jobId))
        .lrange(this.keys.attempts(jobId), -EMBEDDED_ATTEMPTS, -1)
        .llen(this.keys.attempts(jobId)),
    );
    const job = withSpec(results[0] as Record<string, string>, results[1] as string | null);
    if (!job || !this.owns(job)) return null;
    return toView(jobId, job, parseAttempts(results[2] as string[]), results[3] as number);
  }

  /** A page of the attempt log and its totals (job-reads.ts), or null when there is no such job. */
  attemptsPage(jobId: string, offset: number, limit: number): Promise<AttemptsPage | null> {
    return readAttemptsPage(this.redis, this.keys, jobId, offset, limit);
  }

  /** The listed fields of many jobs' hashes, never their specs (job-reads.ts); null where missing. */
  getRawMany(jobIds: string[]): Promise<(Record<string, string> | null)[]> {
    return readListedHashes(this.redis, this.keys, jobIds);
  }

  /** The full spec for a replay: stored spec plus unsealed credential headers. */
  async specForReplay(jobId: string): Promise<ReplaySource | null> {
    const [fields, spec] = await execAll(
      this.redis
        .pipeline()
        .hmget(this.keys.job(jobId), 'sealedHeaders', 'createdAtMs', 'traceId', 'app')
        .get(this.keys.jobSpec(jobId)),
    );
    const [sealed, createdAtMs, traceId, app] = fields as (string | null)[];
    // createdAtMs is in every job hash: without it the job is gone.
    if (typeof spec !== 'string' || !createdAtMs || !this.owns({ app })) return null;
    const parsed = JSON.parse(spec) as JobSpec;
    const base = {
      spec: parsed,
      createdAt: new Date(Number(createdAtMs)).toISOString(),
      traceId: traceId ?? '',
      missingSecrets: false,
    };
    // What was redacted when the job was stored, whatever the list says now.
    if (!Object.values(parsed.headers).includes(REDACTED)) return base;
    if (!sealed || !this.secretKey.current) return { ...base, missingSecrets: true };
    const aad = jobHeadersAad(jobId, app ?? DEFAULT_APPLICATION);
    const secrets = unsealJson<Record<string, string>>(sealed, this.secretKey, aad);
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
    /** Callback state to set if the job ends cancelled here (null when it has no callback). */
    callback: CallbackState | null = null,
  ): Promise<BeginResult> {
    const k = this.keys;
    const keys = { job: k.job(jobId), indexAll: k.indexAll(), spec: k.jobSpec(jobId), deadlines: k.deadlines() };
    // The in_progress index is refreshed when due (index-refresh.ts); a job
    // that ends cancelled here always refreshes the cancelled one (rare).
    const running = k.indexStatus(JobStatus.inProgress);
    const refreshIndex = this.indexRefresh.due([running], Date.now());
    const begun = await scripts.beginAttempt(this.redis, {
      ...this.indexing(jobId),
      refreshIndex,
      keys: { ...keys, counters: k.counters(), attempts: k.attempts(jobId) },
      callback: callback ? encodeCallbackState(callback) : '',
      attempt,
      leaseToken: lease.token,
      leaseMs: lease.ms,
      now: new Date().toISOString(),
      ttlSeconds: this.ttlSeconds,
      recreate: recreateFrom
        ? {
            specJson: this.storedSpec(recreateFrom.spec),
            createdAtMs: Date.parse(recreateFrom.createdAt) || Date.now(),
            application: this.keys.application,
            fields: summaryFields(recreateFrom.spec),
          }
        : null,
    });
    if (refreshIndex && begun.outcome === 'run') this.indexRefresh.refreshed([running], Date.now());
    return begun;
  }

  /**
   * Writes one attempt and the job's resulting state atomically, and releases
   * the lease. The attempt entry is keyed by its number, so writing the same
   * attempt twice (after a crash) overwrites instead of duplicating. Returns
   * the status written (`cancelled` instead of `retrying` when a cancel
   * arrived during the attempt), or `written: false` when the job ended
   * otherwise or moved on to a later attempt meanwhile.
   */
  async recordAttempt(jobId: string, record: AttemptRecord): Promise<scripts.RecordResult> {
    const { attempt } = record;
    const k = this.keys;
    // The index of the status the worker decided is refreshed when due
    // (index-refresh.ts); the cancelled one (a cancel arrived meanwhile) and
    // the dead letters' always are (rare).
    const decided = k.indexStatus(record.status);
    const refreshIndex = this.indexRefresh.due([decided], Date.now());
    const result = await scripts.recordAttempt(this.redis, {
      ...this.indexing(jobId),
      refreshIndex,
      keys: {
        job: k.job(jobId),
        attempts: k.attempts(jobId),
        counters: k.counters(),
        indexDead: k.indexDead(),
        spec: k.jobSpec(jobId),
        deadlines: k.deadlines(),
      },
      attempt: attempt.attempt,
      attemptJson: JSON.stringify(attempt),
      status: record.status,
      nextAttemptAt: record.nextAttemptAt ?? '',
      lastStatusCode: attempt.response ? String(attempt.response.statusCode) : '',
      errorJson: attempt.error ? JSON.stringify(attempt.error) : '',
      callback: record.callback ? encodeCallbackState(record.callback) : '',
      now: new Date(),
      ttlSeconds: this.ttlSeconds,
      deadLettered: record.deadLettered,
      logMax: this.logMax,
    });
    if (refreshIndex && result.written && result.status === record.status) {
      this.indexRefresh.refreshed([decided], Date.now());
    }
    return result;
  }

  async cancel(jobId: string, pendingCallback: CallbackState | null): Promise<CancelResult> {
    const k = this.keys;
    return scripts.cancelJob(this.redis, {
      ...this.indexing(jobId),
      keys: {
        job: k.job(jobId),
        counters: k.counters(),
        spec: k.jobSpec(jobId),
        deadlines: k.deadlines(),
        attempts: k.attempts(jobId),
      },
      now: new Date().toISOString(),
      ttlSeconds: this.ttlSeconds,
      pendingCallback: pendingCallback ? encodeCallbackState(pendingCallback) : '',
    });
  }

  async replay(jobId: string, requestId: string | null): Promise<ReplayResult> {
    const k = this.keys;
    return scripts.replayJob(this.redis, {
      ...this.indexing(jobId),
      keys: {
        job: k.job(jobId),
        indexDead: k.indexDead(),
        spec: k.jobSpec(jobId),
        deadlines: k.deadlines(),
        attempts: k.attempts(jobId),
      },
      now: new Date().toISOString(),
      ttlSeconds: this.ttlSeconds,
      requestId: requestId ?? '',
    });
  }

  /** Reverts a replay whose message could not be published. */
  async undoReplay(jobId: string, attemptsDone: number): Promise<boolean> {
    return scripts.undoReplay(this.redis, {
      ...this.indexing(jobId),
      keys: { job: this.keys.job(jobId), indexDead: this.keys.indexDead(), deadlines: this.keys.deadlines() },
      attempts: attemptsDone,
    });
  }

  /** The callback delivery state, or null when the job has none (or no longer exists). */
  async getCallback(jobId: string): Promise<CallbackState | null> {
    return decodeCallbackState(await onRedis(this.redis.hget(this.keys.job(jobId), 'callback')));
  }

  /**
   * Records the callback delivery state (a no-op when the job no longer
   * exists) and bumps `counter` when given. An open state is due at its next delivery (now when unset).
   */
  async setCallback(jobId: string, state: CallbackState, counter: CounterName | null = null): Promise<void> {
    const k = this.keys;
    const open = state.status === CallbackStatus.pending || state.status === CallbackStatus.retrying;
    await scripts.setCallback(this.redis, {
      keys: {
        job: k.job(jobId),
        counters: k.counters(),
        spec: k.jobSpec(jobId),
        deadlines: k.deadlines(),
        attempts: k.attempts(jobId),
      },
      jobId,
      deadlineMs: open ? Date.parse(state.nextAttemptAt ?? '') || Date.now() : null,
      callback: encodeCallbackState(state),
      now: new Date().toISOString(),
      ttlSeconds: this.ttlSeconds,
      counter: counter ?? '',
    });
  }

  /** Records that attempt `attempt` was published, so that stale copies of earlier ones do not publish it again. */
  markScheduled = (jobId: string, attempt: number): Promise<boolean> =>
    scripts.markScheduled(this.redis, { keys: { job: this.keys.job(jobId) }, attempt });

  /** The counters of this store's application, or with `applications` the sum over those (counters.ts). */
  async counters(applications: readonly string[] = [this.keys.application]): Promise<Counters> {
    return readCounters(this.redis, this.options.prefix, applications);
  }
}

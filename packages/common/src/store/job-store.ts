import type { Redis } from 'ioredis';
import type { Attempt, CallbackState, JobSpec, JobView } from '../job-schema.js';
import { redisKeys, type RedisKeys } from '../keys/redis-keys.js';
import { defaultHeaderRedactor, type HeaderRedactor } from '../redact.js';
import { ServiceUnavailableError } from '../errors.js';
import { quotaError } from '../quotas.js';
import type { SecretKeys } from '../secrets.js';
import { CallbackStatus, JobStatus } from '../status.js';
import { decodeCallbackState, encodeCallbackState } from './callback-state.js';
import { readCounters, type CounterName, type Counters } from './counters.js';
import { newJobFields, summaryFields } from './job-fields.js';
import { readAttemptsPage, readJobView, readListedHashes, type AttemptsPage } from './job-reads.js';
import { deleteNewJob, newJobIndexes } from './new-job.js';
import { readReplaySource } from './replay-source.js';
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
import { ReplicaGate } from './replica-gate.js';
import { createQuotaArgs } from './quota-args.js';
import { onRedis } from './redis-exec.js';

/**
 * The job record in Redis: one hash for the job's state (short values, so
 * that Redis packs it; `v` is its layout version), one string for its
 * immutable spec, one list for the attempt log, and sorted-set indexes for
 * listing (see keys/redis-keys.ts). Writes keep the TTLs in the same MULTI or
 * Lua script (lua/*.lua; the hot ones once 1% of a TTL has run, refreshJobIfAged
 * in lua/helpers.lua; index lifetimes per index-refresh.ts). A failure of Redis throws
 * ServiceUnavailableError (redis-exec.ts).
 */

export { EMBEDDED_ATTEMPTS } from './job-reads.js';

const redisUnavailable = (why: string) => new ServiceUnavailableError('Redis', new Error(why));

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
    this.indexRefresh = options.indexRefresh ?? IndexRefreshGate.clearedOnReady([redis, options.intakeRedis ?? redis]);
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

  /** A job's own keys and the application's counters and deadline index, which most scripts take. */
  private jobKeys(jobId: string) {
    const k = this.keys;
    return {
      job: k.job(jobId),
      counters: k.counters(),
      spec: k.jobSpec(jobId),
      deadlines: k.deadlines(),
      attempts: k.attempts(jobId),
    };
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

    const indexes = newJobIndexes(this.keys, spec);
    const specJson = this.storedSpec(spec);
    const refreshIndexes = this.indexRefresh.due(indexes, Date.now());
    const waitReplicas = this.options.waitReplicas ?? 0;
    const intake = waitReplicas > 0 ? (this.options.intakeRedis ?? this.redis) : this.redis;
    const app = this.keys.application;
    if (waitReplicas > 0 && !this.replicaGate.admit(app, Date.now())) {
      throw redisUnavailable(`fewer than ${waitReplicas} replicas answer; refused at once`);
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
      : redisUnavailable(`${outcome.replicas} of ${waitReplicas} replicas acknowledged the job in time`);
  }

  /** Removes a job whose publish failed, so nothing claims to be queued (new-job.ts). */
  delete(jobId: string, spec: JobSpec): Promise<void> {
    return deleteNewJob(this.redis, this.keys, jobId, spec);
  }

  /** The job as the API shows it, or null when there is no such job (or it expired; job-reads.ts). */
  get(jobId: string): Promise<JobView | null> {
    return readJobView(this.redis, this.keys, jobId);
  }

  /** A page of the attempt log and its totals (job-reads.ts), or null when there is no such job. */
  attemptsPage(jobId: string, offset: number, limit: number): Promise<AttemptsPage | null> {
    return readAttemptsPage(this.redis, this.keys, jobId, offset, limit);
  }

  /** The listed fields of many jobs' hashes, never their specs (job-reads.ts); null where missing. */
  getRawMany(jobIds: string[]): Promise<(Record<string, string> | null)[]> {
    return readListedHashes(this.redis, this.keys, jobIds);
  }

  /** The full spec for a replay: stored spec plus unsealed credential headers (replay-source.ts). */
  specForReplay(jobId: string): Promise<ReplaySource | null> {
    return readReplaySource(this.redis, this.keys, jobId, this.secretKey);
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
    // The in_progress index is refreshed when due (index-refresh.ts); a job
    // that ends cancelled here always refreshes the cancelled one (rare).
    const running = k.indexStatus(JobStatus.inProgress);
    const refreshIndex = this.indexRefresh.due([running], Date.now());
    const begun = await scripts.beginAttempt(this.redis, {
      ...this.indexing(jobId),
      refreshIndex,
      keys: { ...this.jobKeys(jobId), indexAll: k.indexAll() },
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
    return scripts.cancelJob(this.redis, {
      ...this.indexing(jobId),
      keys: this.jobKeys(jobId),
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
    const open = state.status === CallbackStatus.pending || state.status === CallbackStatus.retrying;
    await scripts.setCallback(this.redis, {
      keys: this.jobKeys(jobId),
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

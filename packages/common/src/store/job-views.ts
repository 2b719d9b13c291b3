import type { Attempt, AttemptError, JobSpec, JobSummary, JobView } from '../job-schema.js';
import type { JobPriority, JobStatus } from '../status.js';
import { decodeCallbackState } from './callback-state.js';
import { SUMMARY_DEFAULTS } from './job-fields.js';
import { effectiveWebhooks } from './job-webhooks.js';

/**
 * The API's shapes of a job, built from its raw hash (with the spec from its
 * own key as the field `spec`; see withSpec). Absent fields read as their
 * defaults: the store deletes empty values rather than storing them.
 */

/** Attempt entries from the log list, skipping the '' of attempts whose record was lost. */
export function parseAttempts(raw: string[]): Attempt[] {
  return raw.filter((entry) => entry !== '').map((entry) => JSON.parse(entry) as Attempt);
}

function parseJson<T>(raw: string | undefined): T | null {
  return raw ? (JSON.parse(raw) as T) : null;
}

/** The raw hash with the spec from its own key, or null when the job does not exist. */
export function withSpec(job: Record<string, string>, spec: string | null): Record<string, string> | null {
  return job.status && spec ? { ...job, spec } : null;
}

/** The ISO creation time, derived from createdAtMs (only the epoch ms is stored). */
function createdAtOf(job: Record<string, string>): string {
  const ms = Number(job.createdAtMs);
  return job.createdAtMs && Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/** What a job was asked to do, as a list entry shows it. */
interface Described {
  targetUrl: string;
  method: string;
  priority: JobPriority;
  metadata: Record<string, string>;
}

function describedBySpec(spec: JobSpec): Described {
  return {
    targetUrl: spec.targetUrl,
    method: spec.method,
    priority: (spec.priority ?? SUMMARY_DEFAULTS.priority) as JobPriority,
    metadata: spec.metadata ?? {},
  };
}

/** From the summary fields of the hash (job-fields.ts); absent ones read as their defaults. */
function describedByHash(job: Record<string, string>): Described {
  return {
    targetUrl: job.url!,
    method: job.method || SUMMARY_DEFAULTS.method,
    priority: (job.priority || SUMMARY_DEFAULTS.priority) as JobPriority,
    metadata: parseJson<Record<string, string>>(job.metadata) ?? {},
  };
}

/** The fields the view and the list entry share. */
function sharedFields(jobId: string, job: Record<string, string>, described: Described) {
  return {
    jobId,
    status: job.status as JobStatus,
    attempts: Number(job.attempts ?? 0),
    ...described,
    createdAt: createdAtOf(job),
    updatedAt: job.updatedAt ?? '',
    completedAt: job.completedAt || null,
    nextAttemptAt: job.nextAttemptAt || null,
    error: parseJson<AttemptError>(job.error),
    deadLetteredAt: job.deadLetteredAt || null,
    replays: Number(job.replays ?? 0),
  };
}

/**
 * Builds the API view from the raw hash with its spec and the newest entries
 * of its log; `logLength` is the log's length (LLEN), which the oldest
 * entries dropped to keep the cap (the field logDropped) do not count.
 */
export function toView(jobId: string, job: Record<string, string>, log: Attempt[], logLength: number): JobView {
  const dropped = Number(job.logDropped ?? 0);
  const spec = JSON.parse(job.spec!) as JobSpec;
  return {
    ...sharedFields(jobId, job, describedBySpec(spec)),
    headers: spec.headers,
    payload: spec.payload ?? null,
    callbackUrl: spec.callbackUrl ?? null,
    webhooks: effectiveWebhooks(job.webhooks, spec),
    maxRetries: spec.maxRetries,
    retryDelay: spec.retryDelay,
    timeout: spec.timeout,
    lastResponse: log.at(-1)?.response ?? null,
    attemptsLog: log,
    attemptsLogTotal: dropped + logLength,
    attemptsLogDropped: dropped,
    callback: decodeCallbackState(job.callback),
    requestId: job.requestId || null,
    traceId: job.traceId || null,
    cancelRequested: job.cancelRequested === '1',
  };
}

/** Builds a list entry from the listed fields of the hash (LISTED_FIELDS); the spec is never read. */
export function toSummary(jobId: string, job: Record<string, string>): JobSummary {
  return {
    ...sharedFields(jobId, job, describedByHash(job)),
    lastStatusCode: job.lastStatusCode ? Number(job.lastStatusCode) : null,
    callbackStatus: decodeCallbackState(job.callback)?.status ?? null,
  };
}

import type { Attempt, AttemptError, JobSpec, JobSummary, JobView } from '../job-schema.js';
import type { JobPriority, JobStatus } from '../status.js';
import { decodeCallbackState } from './callback-state.js';

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

/** The fields the view and the list entry share, from the raw hash and its spec. */
function sharedFields(jobId: string, job: Record<string, string>, spec: JobSpec) {
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
    error: parseJson<AttemptError>(job.error),
    deadLetteredAt: job.deadLetteredAt || null,
    replays: Number(job.replays ?? 0),
  };
}

/** Builds the API view from the raw hash. */
export function toView(jobId: string, job: Record<string, string>, log: Attempt[], logTotal: number): JobView {
  const spec = JSON.parse(job.spec!) as JobSpec;
  return {
    ...sharedFields(jobId, job, spec),
    headers: spec.headers,
    payload: spec.payload ?? null,
    callbackUrl: spec.callbackUrl ?? null,
    maxRetries: spec.maxRetries,
    retryDelay: spec.retryDelay,
    timeout: spec.timeout,
    lastResponse: log.at(-1)?.response ?? null,
    attemptsLog: log,
    attemptsLogTotal: logTotal,
    callback: decodeCallbackState(job.callback),
    requestId: job.requestId || null,
    traceId: job.traceId || null,
    cancelRequested: job.cancelRequested === '1',
  };
}

/** Builds a list entry from the raw hash. */
export function toSummary(jobId: string, job: Record<string, string>): JobSummary {
  const spec = JSON.parse(job.spec!) as JobSpec;
  return {
    ...sharedFields(jobId, job, spec),
    lastStatusCode: job.lastStatusCode ? Number(job.lastStatusCode) : null,
    callbackStatus: decodeCallbackState(job.callback)?.status ?? null,
  };
}

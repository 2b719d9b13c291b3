import { RelayError } from './errors.js';
import { JobPriority } from './status.js';

/**
 * Per-application quotas, checked by create.lua in the same step that stores
 * a job, so concurrent submissions cannot overshoot them:
 *
 * - `maxUnfinishedJobs`: jobs in the unfinished status indexes (queued,
 *   in_progress, retrying) at the moment of the submission. Exact: a job
 *   counts from its creation until its script moves it to a final status.
 * - `maxStoredBytes`: an estimate of what the application keeps in Redis: for
 *   every job created within the job lifetime (JOB_TTL_SECONDS), the bytes of
 *   its stored spec plus JOB_BYTES_ALLOWANCE for its hash and index entries.
 *   Counted in QUOTA_BYTE_BUCKETS time buckets per lifetime, so a job's bytes
 *   are freed up to one bucket after its keys expire. Attempt logs and
 *   results are not counted, and nothing is refunded before expiry: deleting
 *   or finishing a job early does not free its bytes.
 * - `maxPriority`: the highest priority the application may submit. Only the
 *   master key sets it (PATCH /api/applications/:id), so only the master key
 *   grants `high`.
 *
 * A null limit on an application means "the server default" (config).
 */
export interface QuotaLimits {
  maxUnfinishedJobs: number;
  maxStoredBytes: number;
  maxPriority: JobPriority;
}

/** The order of priorities; a job's priority must not rank above the application's `maxPriority`. */
export const PRIORITY_RANK: Readonly<Record<JobPriority, number>> = {
  [JobPriority.low]: 0,
  [JobPriority.normal]: 1,
  [JobPriority.high]: 2,
};

/** Bytes counted per job on top of its spec: the job hash's summary fields and its index entries. */
export const JOB_BYTES_ALLOWANCE = 1024;

/** How many time buckets one job lifetime is split into for the stored-bytes count. */
export const QUOTA_BYTE_BUCKETS = 24;

/** The bytes a job counts against `maxStoredBytes`. Pure. */
export function jobQuotaBytes(storedSpecJson: string): number {
  return Buffer.byteLength(storedSpecJson, 'utf8') + JOB_BYTES_ALLOWANCE;
}

/** What create.lua answers when it refuses a job. */
export type QuotaRefusal =
  | { quota: 'maxUnfinishedJobs'; limit: number; current: number }
  | { quota: 'maxStoredBytes'; limit: number; current: number }
  | { quota: 'maxPriority'; limit: JobPriority; requested: JobPriority };

/** The error a refusal answers with: 429 for a used-up quota, 403 for a priority not granted. Pure. */
export function quotaError(refusal: QuotaRefusal): RelayError {
  switch (refusal.quota) {
    case 'maxUnfinishedJobs':
      return new RelayError('QUOTA_EXCEEDED', {
        message: `Quota maxUnfinishedJobs reached: the application has ${refusal.current} unfinished jobs and may have at most ${refusal.limit}; retry when some have finished`,
        details: [{ path: '', message: `maxUnfinishedJobs=${refusal.limit}` }],
        headers: { 'retry-after': '1' },
      });
    case 'maxStoredBytes':
      return new RelayError('QUOTA_EXCEEDED', {
        message: `Quota maxStoredBytes reached: the application's jobs of the last job lifetime hold about ${refusal.current} bytes and this job would pass the limit of ${refusal.limit} bytes`,
        details: [{ path: '', message: `maxStoredBytes=${refusal.limit}` }],
      });
    case 'maxPriority':
      return new RelayError('PRIORITY_NOT_ALLOWED', {
        message: `Quota maxPriority: this application may submit priorities up to '${refusal.limit}', not '${refusal.requested}'; only the master key can grant a higher one`,
        details: [{ path: '/priority', message: `maxPriority=${refusal.limit}` }],
      });
  }
}

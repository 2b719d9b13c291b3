import type { JobSpec } from '../job-schema.js';
import { DEFAULT_APPLICATION } from '../keys/redis-keys.js';
import { jobHeadersAad, sealJson, type SecretKeys } from '../secrets.js';
import { JobStatus } from '../status.js';
import type { CreateJobInput } from './job-store-types.js';
import { JOB_LAYOUT_VERSION } from './layout.js';

/**
 * The summary fields of a job hash: what a listing shows and filters on,
 * copied from the spec when the job is stored (create.lua, and the recreate
 * of begin-attempt.lua), so that listing and search read the hash alone and
 * never the spec (up to 1 MiB). A field at its default is left out and reads
 * as that default: every field of the hash costs memory, and short values
 * keep the hash within Redis's listpack encoding.
 */

/** Method and priority of a job whose hash has no such field. */
export const SUMMARY_DEFAULTS = { method: 'GET', priority: 'normal' } as const;

/**
 * The hash fields a listing reads (one HMGET per candidate): its state, what
 * the filters check and what a summary shows. `v` tells a hash of an older
 * layout (no summary fields) apart; see job-views.ts.
 */
export const LISTED_FIELDS = [
  'v',
  'status',
  'attempts',
  'createdAtMs',
  'updatedAt',
  'completedAt',
  'nextAttemptAt',
  'error',
  'deadLetteredAt',
  'replays',
  'lastStatusCode',
  'callback',
  'app',
  'host',
  'metadata',
  'url',
  'method',
  'priority',
] as const;

export function targetHost(targetUrl: string): string {
  return new URL(targetUrl).hostname.toLowerCase();
}

/** The summary fields of a job hash for `spec`. */
export function summaryFields(spec: JobSpec): Record<string, string> {
  const fields: Record<string, string> = { url: spec.targetUrl, host: targetHost(spec.targetUrl) };
  if (spec.method !== SUMMARY_DEFAULTS.method) fields.method = spec.method;
  if ((spec.priority ?? SUMMARY_DEFAULTS.priority) !== SUMMARY_DEFAULTS.priority) fields.priority = spec.priority!;
  if (spec.metadata && Object.keys(spec.metadata).length > 0) fields.metadata = JSON.stringify(spec.metadata);
  return fields;
}

/**
 * The hash of a newly accepted job (create.lua writes it as given). Only the
 * fields with a value: each field costs memory (the ISO createdAt is derived
 * from createdAtMs, an absent app is the default). The credential headers
 * (`secrets`, already picked out by the redactor) go in sealed when a key is
 * set; the stored spec holds them redacted.
 */
export function newJobFields(
  input: CreateJobInput,
  application: string,
  secrets: Record<string, string>,
  secretKey: SecretKeys,
): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    v: JOB_LAYOUT_VERSION,
    status: JobStatus.queued,
    attempts: 0,
    createdAtMs: input.createdAt.getTime(),
    updatedAt: input.createdAt.toISOString(),
    traceId: input.traceId,
    ...summaryFields(input.spec),
  };
  if (input.requestId) fields.requestId = input.requestId;
  if (application !== DEFAULT_APPLICATION) fields.app = application;
  if (secretKey.current && Object.keys(secrets).length > 0) {
    fields.sealedHeaders = sealJson(secrets, secretKey, jobHeadersAad(input.jobId, application));
  }
  return fields;
}

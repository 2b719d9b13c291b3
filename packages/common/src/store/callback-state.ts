import type { AttemptError, CallbackState } from '../job-schema.js';
import { CallbackStatus } from '../status.js';

/**
 * The callback state of a job that has just ended. `queuedAt` is set when the
 * first delivery was handed to the broker as a message (a cancel through the
 * API) rather than made inline by the worker that finished the job.
 */
export function pendingCallback(queuedAt: string | null = null): CallbackState {
  return {
    status: CallbackStatus.pending,
    statusCode: null,
    attempts: 0,
    error: null,
    lastAttemptAt: null,
    nextAttemptAt: queuedAt,
  };
}

/**
 * The callback state as the job hash stores it: a JSON array
 * `[status, statusCode, attempts, lastAttemptAt, nextAttemptAt, error?]` with
 * times as epoch ms, e.g. `["delivered",204,1,1795991668929,null]`. Short
 * enough to stay under Redis's listpack value limit
 * (`hash-max-listpack-value`), which keeps a small job's hash packed; see
 * RedisKeys.job. The API shows the object (CallbackState).
 */
type Stored = [
  status: string,
  statusCode: number | null,
  attempts: number,
  lastAttemptAt: number | string | null,
  nextAttemptAt: number | string | null,
  error?: AttemptError,
];

/** An ISO time as epoch ms when that loses nothing; otherwise the string as it was. */
function packTime(iso: string | null): number | string | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) && new Date(ms).toISOString() === iso ? ms : iso;
}

function unpackTime(value: number | string | null): string | null {
  return typeof value === 'number' ? new Date(value).toISOString() : value;
}

export function encodeCallbackState(state: CallbackState): string {
  const stored: Stored = [
    state.status,
    state.statusCode,
    state.attempts,
    packTime(state.lastAttemptAt),
    packTime(state.nextAttemptAt),
  ];
  if (state.error) stored.push(state.error);
  return JSON.stringify(stored);
}

export function decodeCallbackState(raw: string | null | undefined): CallbackState | null {
  if (!raw) return null;
  const [status, statusCode, attempts, lastAttemptAt, nextAttemptAt, error] = JSON.parse(raw) as Stored;
  return {
    status: status as CallbackState['status'],
    statusCode,
    attempts,
    error: error ?? null,
    lastAttemptAt: unpackTime(lastAttemptAt),
    nextAttemptAt: unpackTime(nextAttemptAt),
  };
}

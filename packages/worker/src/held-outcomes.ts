import type { Attempt, CallbackState, JobStatus, Logger, Webhooks } from '@relay/common';

/**
 * What one target call decided: a retry due at `dueAt`, or the job's end;
 * with the webhooks in force when it began, for the events of the outcome.
 */
export type AttemptOutcome = { entry: Attempt; webhooks?: Webhooks | null } & ({ dueAt: number } | { status: JobStatus });

/** A callback delivery's outcome whose state write is pending. */
export interface HeldCallback {
  state: CallbackState;
  counter: 'callbacks_sent' | 'callbacks_failed' | null;
}

/**
 * Outcomes of target calls and callback deliveries that happened but whose
 * state write has not succeeded yet, held in this worker's memory. When Redis
 * refuses writes (while still serving reads), the write is retried with a
 * backoff (`retryWrite`); if it still fails the message is deferred, and its
 * next copy on this worker writes the held outcome instead of calling the
 * target or POSTing the callback again. A copy taken by another worker cannot
 * see it: that case stays an at-least-once duplicate (docs/guarantees.md).
 */
export class HeldOutcomes<T> {
  private readonly entries = new Map<string, T>();

  /** Entries kept at most; the oldest goes first (a bound, not an expected size). */
  constructor(private readonly capacity = 10_000) {}

  hold(key: string, value: T): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  get(key: string): T | undefined {
    return this.entries.get(key);
  }

  release(key: string): void {
    this.entries.delete(key);
  }
}

/** Backoff of a state write that failed: doubling from the first delay, capped. */
export interface WriteRetry {
  /** @defaultValue 7 */
  tries: number;
  /** @defaultValue 200 */
  firstDelayMs: number;
  /** @defaultValue 5000 */
  maxDelayMs: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetry = { tries: 7, firstDelayMs: 200, maxDelayMs: 5000 };

/** The wait before try `n + 1` (n >= 1) of a write. Pure. */
export function writeRetryDelay(n: number, retry: WriteRetry): number {
  return Math.min(retry.maxDelayMs, retry.firstDelayMs * 2 ** (n - 1));
}

/**
 * Runs a state write until it succeeds, waiting between tries; throws the
 * last error after `retry.tries` tries. Used only for writes that record
 * something already done, which must not be redone because the write failed.
 */
export async function retryWrite<T>(
  write: () => Promise<T>,
  log: Pick<Logger, 'warn'>,
  what: string,
  retry: WriteRetry = DEFAULT_WRITE_RETRY,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await write();
    } catch (err) {
      if (n >= retry.tries) throw err;
      const delayMs = writeRetryDelay(n, retry);
      log.warn({ err, try: n, delayMs }, `${what}: state write failed; retrying it`);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

import { CallbackStatus, JobStatus, type OverdueEntry } from '@relay/common';

/**
 * What the reconciler does about one job of the deadline index. Pure: a
 * function of the job's fields, its deadline, the time and the grace.
 *
 * A job is overdue when `now` is past the time by which it must have
 * progressed plus the grace: `queued` since it was created or replayed (its
 * first message was lost, or its record was left by a backend that died
 * before the confirm), `retrying` since its retry was due (the delayed
 * message was lost), `in_progress` since its lease ended (the worker died
 * and its message is gone), and a final job whose callback is pending or
 * retrying since the delivery was due. Each such job gets its work message
 * again; the job scripts make a redundant copy a no-op (the lease, the
 * attempt counter, the scheduled mark, the settled callback).
 */
export type Repair =
  /** Nothing is pending (the job is gone, or final with its callback settled): it leaves the index. */
  | { kind: 'drop' }
  /** Not overdue after all (its own fields say a later time): look again at `deadlineMs` plus the grace. */
  | { kind: 'wait'; deadlineMs: number }
  /** Publish attempt `attempt` again. `reason` is the status it was stuck in (the metric's label). */
  | { kind: 'attempt'; reason: 'queued' | 'retrying' | 'in_progress'; attempt: number }
  /** Publish delivery `delivery` of the job's callback again. */
  | { kind: 'callback'; delivery: number };

export type RepairKind = 'queued' | 'retrying' | 'in_progress' | 'callback';

export function decideRepair(entry: OverdueEntry, nowMs: number, graceMs: number): Repair {
  const { job, deadlineMs } = entry;
  if (!job) return { kind: 'drop' };
  const overdue = (dueMs: number): boolean => dueMs + graceMs <= nowMs;
  const attempt = job.attempts + 1;
  switch (job.status) {
    case JobStatus.queued:
      return overdue(deadlineMs) ? { kind: 'attempt', reason: 'queued', attempt } : { kind: 'wait', deadlineMs };
    case JobStatus.retrying: {
      const due = job.nextAttemptAt ?? deadlineMs;
      return overdue(due) ? { kind: 'attempt', reason: 'retrying', attempt } : { kind: 'wait', deadlineMs: due };
    }
    case JobStatus.inProgress: {
      const due = job.leaseUntil ?? deadlineMs;
      return overdue(due) ? { kind: 'attempt', reason: 'in_progress', attempt } : { kind: 'wait', deadlineMs: due };
    }
    default: {
      const cb = job.callback;
      if (!cb || (cb.status !== CallbackStatus.pending && cb.status !== CallbackStatus.retrying)) {
        return { kind: 'drop' };
      }
      const due = cb.nextAttemptAt ? Date.parse(cb.nextAttemptAt) || deadlineMs : deadlineMs;
      return overdue(due) ? { kind: 'callback', delivery: cb.attempts + 1 } : { kind: 'wait', deadlineMs: due };
    }
  }
}

/**
 * When to look at a job again after repairing it: one grace later at first,
 * doubling with each repair of the same job (up to 2^5 graces), so that a
 * backlog deeper than the grace does not get one more copy of every waiting
 * message per grace period.
 */
export function nextLookMs(nowMs: number, graceMs: number, repairsOfJob: number): number {
  return nowMs + graceMs * (2 ** Math.min(Math.max(repairsOfJob - 1, 0), 5) - 1);
}

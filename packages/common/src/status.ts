/**
 * Job lifecycle. `retrying` means "an attempt failed and the next one is
 * scheduled for `nextAttemptAt`"; `in_progress` means an attempt is running
 * right now under a worker's lease.
 */
export const JobStatus = {
  queued: 'queued',
  inProgress: 'in_progress',
  retrying: 'retrying',
  completed: 'completed',
  failed: 'failed',
  /** Stopped by a client before it ended; makes no further attempt. */
  cancelled: 'cancelled',
} as const;

export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

/** Statuses a job never leaves by itself: only a replay turns failed or cancelled back into queued. */
export const FINAL_STATUSES: readonly JobStatus[] = [JobStatus.completed, JobStatus.failed, JobStatus.cancelled];

const FINAL: ReadonlySet<JobStatus> = new Set(FINAL_STATUSES);

export function isFinalStatus(status: JobStatus): boolean {
  return FINAL.has(status);
}

/** Delivery state of the result POSTed to `callbackUrl`. */
export const CallbackStatus = {
  /** The job is not final yet, or the result is waiting for its first delivery. */
  pending: 'pending',
  /** A delivery failed and another is scheduled. */
  retrying: 'retrying',
  delivered: 'delivered',
  /** Every delivery attempt failed, or the receiver refused it for good. */
  failed: 'failed',
} as const;

export type CallbackStatus = (typeof CallbackStatus)[keyof typeof CallbackStatus];

/** Message priority levels (RabbitMQ priorities on the work queue; see keys/queues.ts). */
export const JobPriority = { high: 'high', normal: 'normal', low: 'low' } as const;
export type JobPriority = (typeof JobPriority)[keyof typeof JobPriority];

import type { CallbackBody, JobSpec } from '../job-schema.js';

/**
 * The shape version every work message carries as `v`. A message of another
 * version is not read (decodeMessage returns null): a change of shape bumps
 * it, and its reader goes in the codec.
 */
export const MESSAGE_VERSION = 1;

/**
 * What travels on the work queue. Each message is self-contained (it carries
 * the whole job spec, headers included) so that a job survives the loss of
 * its Redis record: the broker, not Redis, is the durable copy of work to do.
 */
export type WorkMessage = AttemptMessage | CallbackMessage;

/** Run attempt `attempt` (1-based) of a job, not before `dueAt`. */
export interface AttemptMessage {
  v: typeof MESSAGE_VERSION;
  kind: 'attempt';
  jobId: string;
  attempt: number;
  /** Epoch ms; 0 means now. */
  dueAt: number;
  createdAt: string;
  spec: JobSpec;
  /**
   * Attempts made before the current series: 0 at first, the attempt count
   * at the time of a replay after it. The retry budget counts from here.
   */
  seriesBase: number;
  /** x-request-id of the submitting (or replaying) request. */
  requestId: string | null;
  /** W3C trace id; each attempt sends `traceparent: 00-<traceId>-<new span>-01`. */
  traceId: string;
  /** Id of the application that owns the job (DEFAULT_APPLICATION without auth). */
  application: string;
  /**
   * Times this message was held back because its host or application was at
   * its fairness cap (worker HOST_CONCURRENCY, APPLICATION_CONCURRENCY); it
   * sets how long the next hold waits. Absent when never held back.
   */
  fairnessDeferrals?: number;
}

/** Deliver a finished job's result to its callback URL (delivery is 1-based). */
export interface CallbackMessage {
  v: typeof MESSAGE_VERSION;
  kind: 'callback';
  jobId: string;
  delivery: number;
  dueAt: number;
  callbackUrl: string;
  body: CallbackBody;
  /** Id of the application that owns the job: whose secrets sign the delivery. */
  application: string;
  /**
   * Standard Webhooks `webhook-id` of this result: the same on every delivery
   * of it (retries copy the message), so receivers can drop duplicates.
   */
  webhookId: string;
  /**
   * Times this message was held back because its host or application was at
   * its fairness cap (worker HOST_CONCURRENCY, APPLICATION_CONCURRENCY); it
   * sets how long the next hold waits. Absent when never held back.
   */
  fairnessDeferrals?: number;
}

import type { Options } from 'amqplib';
import type { CallbackBody, JobSpec } from './job-schema.js';
import { attemptWebhookId } from './callbacks.js';
import { DEFAULT_APPLICATION, PRIORITY_LEVELS } from './topology.js';

/**
 * What travels on the work queue. Each message is self-contained (it carries
 * the whole job spec, headers included) so that a job survives the loss of
 * its Redis record: the broker, not Redis, is the durable copy of work to do.
 */
export type WorkMessage = AttemptMessage | CallbackMessage;

/** Run attempt `attempt` (1-based) of a job, not before `dueAt`. */
export interface AttemptMessage {
  v: 1;
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
}

/** Deliver a finished job's result to its callback URL (delivery is 1-based). */
export interface CallbackMessage {
  v: 1;
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
}

/** The first attempt of a new job, or with `attempt`/`seriesBase` the first of a replay's series. */
export function attemptMessage(input: {
  jobId: string;
  spec: JobSpec;
  createdAt: string;
  requestId: string | null;
  traceId: string;
  application: string;
  /** @defaultValue 1 */
  attempt?: number;
  /** @defaultValue 0 */
  seriesBase?: number;
  /** @defaultValue 0 (now) */
  dueAt?: number;
}): AttemptMessage {
  return {
    v: 1,
    kind: 'attempt',
    jobId: input.jobId,
    attempt: input.attempt ?? 1,
    seriesBase: input.seriesBase ?? 0,
    dueAt: input.dueAt ?? 0,
    createdAt: input.createdAt,
    spec: input.spec,
    requestId: input.requestId,
    traceId: input.traceId,
    application: input.application,
  };
}

/** AMQP properties of a work message: its job's priority (callbacks go at normal priority). */
export function messageProperties(message: WorkMessage): Options.Publish {
  const level = message.kind === 'attempt' ? (message.spec.priority ?? 'normal') : 'normal';
  return { priority: PRIORITY_LEVELS[level], messageId: message.jobId };
}

export function encodeMessage(message: WorkMessage): Buffer {
  return Buffer.from(JSON.stringify(message));
}

/**
 * Parses a message, or returns null when it is not one of ours (bad JSON,
 * unknown version or kind). Only the fields the worker branches on are
 * checked: the rest was validated by the backend before it was published.
 */
export function decodeMessage(content: Buffer): WorkMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Partial<WorkMessage>;
  if (m.v !== 1 || typeof m.jobId !== 'string' || typeof m.dueAt !== 'number') return null;
  if (m.kind === 'attempt' && typeof m.attempt === 'number' && typeof m.spec === 'object' && m.spec !== null) {
    const a = m as AttemptMessage;
    // Fields added after the first release; messages queued before have none.
    a.seriesBase ??= 0;
    a.requestId ??= null;
    a.traceId ??= '';
    a.application ??= DEFAULT_APPLICATION;
    return a;
  }
  if (m.kind === 'callback' && typeof m.delivery === 'number' && typeof m.callbackUrl === 'string') {
    const c = m as CallbackMessage;
    c.application ??= DEFAULT_APPLICATION;
    c.webhookId ??= attemptWebhookId(c.jobId, c.body?.attempts ?? 0);
    return c;
  }
  return null;
}

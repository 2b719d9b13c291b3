import type { CallbackBody, JobSpec } from '../job-schema.js';
import { MESSAGE_VERSION, type AttemptMessage, type CallbackMessage } from './types.js';
import { attemptWebhookId } from './webhook-ids.js';

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
    v: MESSAGE_VERSION,
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

/**
 * A callback message for a result. `webhookId` defaults to the id of the
 * result of attempt `body.attempts`; a cancel of a waiting job passes
 * cancelWebhookId.
 */
export function callbackMessage(
  jobId: string,
  callbackUrl: string,
  body: CallbackBody,
  delivery: number,
  application: string,
  webhookId: string = attemptWebhookId(jobId, body.attempts),
): CallbackMessage {
  return {
    v: MESSAGE_VERSION,
    kind: 'callback',
    jobId,
    delivery,
    dueAt: 0,
    callbackUrl,
    body,
    application,
    webhookId,
  };
}

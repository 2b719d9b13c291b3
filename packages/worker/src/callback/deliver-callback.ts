import { CallbackStatus, type CallbackMessage, type CallbackState, type Logger } from '@relay/common';
import type { CallbackDeps } from '../deps.js';
import { retryWrite, type HeldCallback } from '../held-outcomes.js';
import { outcomeError } from '../http/error-classification.js';
import { sendHttp } from '../http/http-call.js';
import { CALLBACK_USER_AGENT } from '../package-version.js';
import { decideCallback } from '../retry-policy.js';
import { signWebhook } from '../signing/webhook-signature.js';

/**
 * Bytes of a callback receiver's answer read (at most RESPONSE_BODY_MAX_BYTES).
 * Only its status is recorded; a short answer is read to its end so that the
 * connection is reused, a longer one is cut there and its socket closed.
 */
const CALLBACK_RESPONSE_MAX_BYTES = 4096;

/**
 * Delivers one job result to its callback URL (delivery number
 * `message.delivery`) and records the outcome. A failed delivery is
 * rescheduled as a callback message: retrying a callback never re-runs the
 * target request. The next delivery is published before the state says
 * `retrying`, so a crash in between leaves a duplicate delivery, never none.
 */
export async function deliverCallback(deps: CallbackDeps, message: CallbackMessage, log: Logger): Promise<void> {
  // Made already by this worker, but its state write failed: write it, do not POST again.
  const held = deps.heldCallbacks?.get(heldCallbackKey(message));
  if (held) return settleCallback(deps, message, held, log);
  const body = JSON.stringify(message.body);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': CALLBACK_USER_AGENT };
  const signing = await deps.signing.get(message.application);
  if (signing && signing.secrets.length > 0) {
    // Signed at each send: the timestamp is this delivery's, the id the result's.
    const timestamp = Math.floor(deps.now() / 1000);
    Object.assign(headers, signWebhook({ id: message.webhookId, timestamp, body, secrets: signing.secrets }));
  }
  const result = await sendHttp(deps.dispatcher, {
    url: message.callbackUrl,
    method: 'POST',
    headers,
    body,
    timeoutMs: deps.callbackTimeoutMs,
    bodyCap: Math.min(deps.bodyCap, CALLBACK_RESPONSE_MAX_BYTES),
  });
  const decision = decideCallback(
    result,
    message.delivery,
    { maxAttempts: deps.callbackMaxAttempts, retryDelayMs: deps.callbackRetryDelayMs, maxDelayMs: deps.maxDelayMs },
    deps.random(),
  );
  const state: CallbackState = {
    status: CallbackStatus.delivered,
    statusCode: result.statusCode,
    attempts: message.delivery,
    error: outcomeError(result, decision, 'callback'),
    lastAttemptAt: result.startedAt,
    nextAttemptAt: null,
  };
  if (decision.kind === 'success') {
    // debug: 'job finished' already logged this job at info; one line per job on the success path.
    log.debug({ delivery: message.delivery, statusCode: result.statusCode }, 'callback delivered');
    await settleCallback(deps, message, { state, counter: 'callbacks_sent' }, log);
    deps.metrics?.callback('delivered');
    return;
  }
  // Final: the last delivery, the receiver's stop (Relay-No-Retry, 410), or a
  // failure that would repeat itself (an address the SSRF guard refuses, a
  // URL undici cannot send to). See decideCallback.
  if (decision.kind === 'fail') {
    log.warn(
      { delivery: message.delivery, statusCode: result.statusCode, error: state.error },
      'callback failed for good',
    );
    const failed = { ...state, status: CallbackStatus.failed };
    await settleCallback(deps, message, { state: failed, counter: 'callbacks_failed' }, log);
    deps.metrics?.callback('failed');
    return;
  }
  const delay = decision.delayMs;
  const dueAt = deps.now() + delay;
  await deps.scheduler.schedule({ ...message, delivery: message.delivery + 1, dueAt });
  log.info(
    { delivery: message.delivery, statusCode: result.statusCode, delayMs: delay },
    'callback failed; retry scheduled',
  );
  const retrying = { ...state, status: CallbackStatus.retrying, nextAttemptAt: new Date(dueAt).toISOString() };
  await settleCallback(deps, message, { state: retrying, counter: null }, log);
  deps.metrics?.callback('retry_scheduled');
}

export function heldCallbackKey(message: CallbackMessage): string {
  return `${message.jobId}:${message.webhookId}:${message.delivery}`;
}

/**
 * Records a delivery's outcome. The delivery happened: a failed write is
 * retried (and the outcome held for this message's next copy), never the POST.
 */
export async function settleCallback(
  deps: CallbackDeps,
  message: CallbackMessage,
  outcome: HeldCallback,
  log: Logger,
): Promise<void> {
  const key = heldCallbackKey(message);
  deps.heldCallbacks?.hold(key, outcome);
  const store = deps.store.forApplication(message.application);
  await retryWrite(() => store.setCallback(message.jobId, outcome.state, outcome.counter), log, 'callback state');
  deps.heldCallbacks?.release(key);
}

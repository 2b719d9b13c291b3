import type { Logger, WorkMessage } from '@relay/common';
import type { WorkerDeps } from '../deps.js';
import { endPoisonMessage } from './end-poison.js';
import { failuresOf, judgeFailure, stepOf, type FailureOptions } from './failure-policy.js';

/**
 * The consumer's `defer`: a message whose handling threw goes back on the
 * broker for later, carrying its failure count, or ends as poison
 * (failure-policy.ts). Returns the copy it scheduled, or null when the
 * message ended. Throws when neither the broker nor the store took it; the
 * consumer then requeues the message as it was.
 */
export async function handleFailure(
  deps: WorkerDeps,
  message: WorkMessage,
  err: unknown,
  options: FailureOptions,
  log: Logger,
): Promise<WorkMessage | null> {
  const verdict = judgeFailure(err, failuresOf(message), options);
  const fields = { err, jobId: message.jobId, kind: message.kind };
  if (verdict.kind === 'poison') {
    await endPoisonMessage(deps, message, verdict.failures, log.child({ jobId: message.jobId }));
    return null;
  }
  let copy: WorkMessage;
  if (verdict.kind === 'outage') {
    log.warn(fields, 'processing failed (backing service down); message deferred');
    copy = { ...message, dueAt: deps.now() + verdict.delayMs };
  } else {
    log.warn({ ...fields, failures: verdict.failures }, 'processing failed; message deferred');
    const failures = { step: stepOf(message), count: verdict.failures };
    copy = { ...message, failures, dueAt: deps.now() + verdict.delayMs };
  }
  await deps.scheduler.schedule(copy);
  return copy;
}

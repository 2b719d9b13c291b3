import { JobStatus, type Attempt, type AttemptMessage, type BeginResult, type Logger } from '@relay/common';
import { storeOf, type WorkerDeps } from '../deps.js';
import {
  cancelledBeforeEvent,
  effectiveWebhooks,
  emitJobEvents,
  endEvents,
  retryingEvent,
  type JobEventOf,
} from '../events/job-events.js';

/**
 * Events of a step that was recorded but whose message was not acked (the
 * worker died between the two): this copy emits them again, as the callback
 * of such a step is delivered again, so that no event of a finished job is
 * missing. The copies share sequence and webhook-ids with the first
 * emission, so receivers can drop them. Rare, so the job is read for the
 * attempt's details rather than carried in the begin result.
 */
export async function reemitRecordedStep(
  deps: WorkerDeps,
  message: AttemptMessage,
  begin: Extract<BeginResult, { outcome: 'final' | 'stale' }>,
  log: Logger,
): Promise<void> {
  if (!deps.events) return;
  const n = message.attempt;
  const webhooks = effectiveWebhooks(begin.webhooks, message.spec);
  const step = (entry: RecordedEntry): JobEventOf[] => {
    if (begin.outcome === 'stale') {
      // Only the copy of the attempt that set `retrying`: older copies' steps were acked long ago.
      return begin.status === JobStatus.retrying && begin.attemptsDone === n
        ? [retryingEvent(entry, begin.nextAttemptAt)]
        : [];
    }
    if (begin.attemptsDone === n) return endEvents(entry, begin.status);
    // Ended cancelled by a copy of this very message (begin-attempt); a job
    // the API cancelled while it waited had its event from the API.
    if (begin.status === JobStatus.cancelled && begin.cancelledBefore === n) return [cancelledBeforeEvent(n - 1)];
    return [];
  };
  if (step(placeholder(n)).length === 0) return;
  const entry = await recordedEntry(deps, message);
  log.debug(
    { attempt: n, outcome: begin.outcome, status: begin.status },
    'emitting the events of a recorded step again',
  );
  await emitJobEvents(deps, message, webhooks, step(entry));
}

type RecordedEntry = Pick<Attempt, 'attempt' | 'statusCode' | 'response' | 'error'>;

function placeholder(n: number): RecordedEntry {
  return { attempt: n, statusCode: null, response: null, error: null };
}

/** Attempt `message.attempt` as the job's log has it (its last answer and error when the log dropped it). */
async function recordedEntry(deps: WorkerDeps, message: AttemptMessage): Promise<RecordedEntry> {
  const job = await storeOf(deps, message).get(message.jobId);
  const n = message.attempt;
  const logged = job?.attemptsLog.find((a) => a.attempt === n);
  if (logged) return logged;
  return {
    attempt: n,
    statusCode: job?.lastResponse?.statusCode ?? null,
    response: job?.lastResponse ?? null,
    error: job?.error ?? null,
  };
}

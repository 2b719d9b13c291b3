import { ServiceUnavailableError, type WorkMessage } from '@relay/common';

/**
 * What to do with a message whose handling threw: a pure decision of the
 * error and the failures the message already carries.
 *
 * The rule: an outage of a backing service does not count, anything else
 * does. An outage is a ServiceUnavailableError (Redis or RabbitMQ
 * unreachable or timing out, or Redis replying OOM, LOADING, BUSY, READONLY
 * and the like) but not another error reply (`ERR ...`, `WRONGTYPE ...`),
 * which the same message would get again. An outage fails every message
 * alike and passes by itself, so counting it would dead-letter every job in
 * flight during an ordinary Redis restart: it is waited out at the base
 * delay. Any other error (a TypeError, a RangeError from JSON.stringify, a
 * refused script) follows the message wherever it goes: each one counts, the
 * wait doubles from the base up to the ceiling, and the failure that reaches
 * the limit makes the message poison: it is dead-lettered and its job (or
 * callback) ends failed.
 */

export interface FailureOptions {
  /** POISON_MAX_FAILURES: counted failures that make a message poison. */
  maxFailures: number;
  /** Wait before an outage's or a first failure's retry (ms). */
  baseDelayMs: number;
  /** Ceiling of the growing wait (ms). */
  maxDelayMs: number;
}

export type FailureVerdict =
  | { kind: 'outage'; delayMs: number }
  | { kind: 'defer'; failures: number; delayMs: number }
  | { kind: 'poison'; failures: number };

/**
 * Error replies of Redis that report its state, not the command: out of
 * memory, loading, busy with a script, a replica or a failing-over primary.
 */
const TRANSIENT_REPLY = /^(OOM|LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|NOSCRIPT)\b/;

/** True when the error is a backing service's outage rather than the message's own fault. */
export function isOutage(err: unknown): boolean {
  if (!(err instanceof ServiceUnavailableError)) return false;
  const cause = err.cause as { name?: unknown; message?: unknown } | undefined;
  if (cause?.name !== 'ReplyError' || typeof cause.message !== 'string') return true;
  return TRANSIENT_REPLY.test(cause.message);
}

/** The step a failure count belongs to: the attempt or the delivery number. */
export function stepOf(message: WorkMessage): number {
  return message.kind === 'attempt' ? message.attempt : message.delivery;
}

/** Counted failures of the message at its current step (a count of an earlier step is void). */
export function failuresOf(message: WorkMessage): number {
  return message.failures && message.failures.step === stepOf(message) ? message.failures.count : 0;
}

export function judgeFailure(err: unknown, failuresSoFar: number, options: FailureOptions): FailureVerdict {
  if (isOutage(err)) return { kind: 'outage', delayMs: options.baseDelayMs };
  const failures = failuresSoFar + 1;
  if (failures >= options.maxFailures) return { kind: 'poison', failures };
  const delayMs = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (failures - 1));
  return { kind: 'defer', failures, delayMs };
}

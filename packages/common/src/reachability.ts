import pRetry from 'p-retry';
import type { LogSink } from './logger.js';

export interface ReachOptions {
  /** 'Redis' or 'RabbitMQ', for messages. */
  service: string;
  /** Where it was looked for, password masked. */
  where: string;
  /** How to start it. */
  hint: string;
  log: LogSink;
  /** How long to keep trying (ms). */
  timeoutMs: number;
}

/**
 * Retries `connect` with backoff (p-retry) for a bounded time at start-up,
 * logging on each failure which service is missing, where, and how to start it.
 */
export async function retryUntilReachable<T>(connect: () => Promise<T>, options: ReachOptions): Promise<T> {
  const { service, where, hint, log } = options;
  try {
    return await pRetry(connect, {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: 200,
      maxTimeout: 2000,
      maxRetryTime: options.timeoutMs,
      onFailedAttempt: ({ error, attemptNumber }) => {
        log.warn(
          { service, at: where, attempt: attemptNumber, reason: error.message },
          `cannot reach ${service} at ${where}; ${hint}`,
        );
      },
    });
  } catch (err) {
    throw new Error(`${service} at ${where} is unreachable after ${options.timeoutMs} ms; ${hint}`, { cause: err });
  }
}

import type { ChainableCommander } from 'ioredis';
import { ServiceUnavailableError } from '../errors.js';

/**
 * Every Redis round trip of the stores goes through here, so that a failure
 * of Redis reaches callers as one error type, ServiceUnavailableError('Redis'),
 * whatever its kind: no connection (commands fail at once, there is no offline
 * queue), a timeout, or an error reply from the server (OOM, a script error).
 * Callers (the backend's routes, the worker) then need no catch of their own
 * to answer 503 or to retry later. Errors of the stores' own logic (a bad
 * secret key, say) happen outside these calls and stay what they are.
 */
export async function onRedis<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw err instanceof ServiceUnavailableError ? err : new ServiceUnavailableError('Redis', err);
  }
}

/**
 * Runs a pipeline or MULTI and returns its replies; an error of any one
 * command, or an aborted transaction, fails the whole (see onRedis).
 */
export async function execAll(commands: ChainableCommander): Promise<unknown[]> {
  return onRedis(commands.exec().then(assertExec));
}

/** A MULTI/pipeline result with any per-command error rethrown. */
export function assertExec(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RelayError } from '@relay/common';

/**
 * A per-IP limit on requests without a valid API key, so that keys cannot be
 * guessed at speed and a stranger cannot make every request cost a key
 * lookup. Each 401 counts against the client's IP (fixed window, in the
 * rate-limit plugin's store: Redis, shared by every backend). Once an IP is
 * over the limit, its keyed requests get 429 with Retry-After before any key
 * is looked up, a valid key included: a guess that happens to be right must
 * not be told apart from a wrong one while the IP is blocked. The IP is the
 * socket's peer address (Fastify `request.ip`); behind a proxy every client
 * shares the proxy's address, so put the limit in the proxy there.
 */
export interface StrangerLimit {
  /** Throws a 429 when the request's IP is over the limit; counts nothing. */
  refuseIfOver(request: FastifyRequest): Promise<void>;
  /** Counts one refused request; returns the 429 to answer instead when this one went over. */
  countRefusal(request: FastifyRequest): Promise<RelayError | null>;
}

declare module 'fastify' {
  interface FastifyInstance {
    strangers: StrangerLimit;
  }
}

function tooMany(retryAfterSeconds: number): RelayError {
  return new RelayError('TOO_MANY_UNAUTHORIZED', {
    headers: { 'retry-after': String(Math.max(1, retryAfterSeconds)) },
  });
}

/** Decorates `app.strangers`; call after @fastify/rate-limit is registered (it uses its store). */
export function installStrangerLimit(app: FastifyInstance, options: { max: number; windowMs: number }): void {
  const limiter = app.createRateLimit({
    keyGenerator: (request) => `stranger:${request.ip}`,
    max: options.max,
    timeWindow: options.windowMs,
    allowList: () => false,
  });
  app.decorate<StrangerLimit>('strangers', {
    async refuseIfOver(request) {
      const state = await limiter(request, { increment: false });
      if (!state.isAllowed && state.isExceeded) throw tooMany(state.ttlInSeconds);
    },
    async countRefusal(request) {
      const state = await limiter(request);
      return !state.isAllowed && state.isExceeded ? tooMany(state.ttlInSeconds) : null;
    },
  });
}

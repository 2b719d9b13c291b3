import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { RelayError, redisKeys } from '@relay/common';

/**
 * A per-IP limit on requests without a valid API key, so that keys cannot be
 * guessed at speed and a stranger cannot make every request cost a key
 * lookup. Each 401 counts against the client's IP in a fixed window, in
 * Redis (keys/redis-keys.ts `strangerCount`), shared by every backend. Once
 * an IP is over the limit, its keyed requests get 429 with Retry-After
 * before any key is looked up, a valid key included: a guess that happens to
 * be right must not be told apart from a wrong one while the IP is blocked.
 * The IP is the socket's peer address (Fastify `request.ip`); behind a proxy
 * every client shares the proxy's address, so put the limit in the proxy
 * there. When Redis fails the limit lets requests through: the key lookup
 * that follows needs Redis too and answers 503 on its own.
 *
 * Written here rather than with @fastify/rate-limit's `createRateLimit`: its
 * child store names keys after a route (`undefinedundefined-` for a limiter
 * outside a route), so the key could not be built in keys/.
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

export interface StrangerLimitOptions {
  redis: Redis;
  prefix: string;
  max: number;
  windowMs: number;
}

/** The window's state read from Redis: refusals counted so far, and the window's remaining ms. */
export interface WindowState {
  count: number;
  ttlMs: number;
}

/** The 429 to answer for `state`, or null while the IP is within `max`. Pure. */
export function strangerVerdict(state: WindowState, max: number, windowMs: number): RelayError | null {
  if (state.count <= max) return null;
  // A key without a TTL (-1) or gone since (-2) cannot happen inside the MULTI; fall back to a whole window.
  const ttlMs = state.ttlMs > 0 ? state.ttlMs : windowMs;
  return new RelayError('TOO_MANY_UNAUTHORIZED', {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(ttlMs / 1000))) },
  });
}

/** Decorates `app.strangers`. */
export function installStrangerLimit(app: FastifyInstance, options: StrangerLimitOptions): void {
  const { redis, max, windowMs } = options;
  const keys = redisKeys(options.prefix);
  const failOpen = (request: FastifyRequest, err: unknown) => {
    request.log.warn({ err: (err as Error).message }, 'stranger limit unavailable; request not limited');
    return null;
  };
  app.decorate<StrangerLimit>('strangers', {
    async refuseIfOver(request) {
      const key = keys.strangerCount(request.ip);
      const state = await redis
        .multi()
        .get(key)
        .pttl(key)
        .exec()
        .then((r) => ({ count: Number(r?.[0]?.[1] ?? 0), ttlMs: Number(r?.[1]?.[1] ?? -2) }))
        .catch((err: unknown) => failOpen(request, err));
      const refusal = state && strangerVerdict(state, max, windowMs);
      if (refusal) throw refusal;
    },
    async countRefusal(request) {
      const key = keys.strangerCount(request.ip);
      const state = await redis
        .multi()
        .incr(key)
        .pexpire(key, windowMs, 'NX')
        .pttl(key)
        .exec()
        .then((r) => ({ count: Number(r?.[0]?.[1] ?? 0), ttlMs: Number(r?.[2]?.[1] ?? -2) }))
        .catch((err: unknown) => failOpen(request, err));
      return state && strangerVerdict(state, max, windowMs);
    },
  });
}

import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import { RelayError, redisKeys } from '@relay/common';
import type { BackendConfig } from '../config.js';
import { installStrangerLimit } from '../edge/stranger-limit.js';

/**
 * Per-application rate limits on /api, counted in Redis so that every backend
 * shares one count per application (fixed window, @fastify/rate-limit's Redis
 * store). Answers carry the IETF draft `RateLimit-Limit`, `RateLimit-Remaining`
 * and `RateLimit-Reset` headers, and a 429 also `Retry-After`. Requests
 * without an application (public routes, the master key) are not limited,
 * nor is anything with RELAY_AUTH=off.
 * When Redis is unreachable requests pass: the routes that need Redis answer
 * 503 on their own.
 */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const applicationOf = (request: FastifyRequest) =>
      request.principal?.kind === 'application' ? request.principal.application : null;
    await app.register(rateLimit, {
      global: true,
      // After the auth hook (an instance hook, so it runs before this route hook).
      hook: 'onRequest',
      redis: app.redis,
      nameSpace: redisKeys(config.prefix).rateLimitNamespace(),
      skipOnError: true,
      enableDraftSpec: true,
      // Without auth (loopback only) there is one caller and nothing to share fairly.
      allowList: (request) => config.auth === 'off' || applicationOf(request) === null,
      keyGenerator: (request) => applicationOf(request)?.id ?? 'none',
      max: async (request) => applicationOf(request)?.rateLimit?.max ?? config.rateLimitMax,
      timeWindow: async (request) => applicationOf(request)?.rateLimit?.windowMs ?? config.rateLimitWindowMs,
      errorResponseBuilder: (_request, context) =>
        new RelayError('RATE_LIMITED', {
          message: `Rate limit of ${context.max} requests exceeded; retry in ${context.after}`,
        }),
    });
    // Requests without a valid key, per client IP (used by the auth hook).
    installStrangerLimit(app, {
      redis: app.redis,
      prefix: config.prefix,
      max: config.strangerLimitMax,
      windowMs: config.strangerLimitWindowMs,
    });
  },
  { name: 'relay-rate-limit', dependencies: ['relay-auth'] },
);

import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { connectRedis, redisTarget, HeaderRedactor, JobStore, secretKeys, type EvictionCheck, type JobPriority } from '@relay/common';
import type { BackendConfig } from '../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
    jobStore: JobStore;
  }
}

/** Owns the Redis connection: opens it at start, closes it with the app. */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const redis = await connectRedis({
      target: redisTarget(config),
      log: app.log,
      startupTimeoutMs: config.startupTimeoutMs,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      evictionCheck: config.redisEvictionCheck as EvictionCheck,
    });
    app.decorate('redis', redis);
    app.decorate(
      'jobStore',
      new JobStore(redis, {
        prefix: config.prefix,
        ttlSeconds: config.jobTtlSeconds,
        secretKey: secretKeys(config.secretKey, config.secretKeysPrevious),
        redactor: new HeaderRedactor(config.redactHeaders),
        attemptLogMax: config.attemptLogMax,
        waitReplicas: config.redisWaitReplicas,
        waitTimeoutMs: config.redisWaitTimeoutMs,
        quotas: {
          maxUnfinishedJobs: config.quotaMaxUnfinishedJobs,
          maxStoredBytes: config.quotaMaxStoredBytes,
          // Without keys the one caller is the operator on loopback, and no
          // master key exists to grant `high`: every priority is allowed.
          maxPriority: config.auth === 'off' ? 'high' : (config.quotaMaxPriority as JobPriority),
        },
      }),
    );
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'relay-redis' },
);

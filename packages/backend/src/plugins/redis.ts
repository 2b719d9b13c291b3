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
    const connect = (evictionCheck: EvictionCheck) =>
      connectRedis({
        target: redisTarget(config),
        log: app.log,
        startupTimeoutMs: config.startupTimeoutMs,
        commandTimeoutMs: config.redisCommandTimeoutMs,
        evictionCheck,
      });
    const redis = await connect(config.redisEvictionCheck as EvictionCheck);
    // With REDIS_WAIT_REPLICAS, job creation writes and WAITs on a connection
    // of its own (WAIT blocks the connection it is sent on: JobStoreOptions.intakeRedis).
    const intake = config.redisWaitReplicas > 0 ? await connect('warn') : undefined;
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
        intakeRedis: intake,
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
      if (intake) await intake.quit().catch(() => intake.disconnect());
    });
  },
  { name: 'relay-redis' },
);

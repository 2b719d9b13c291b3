import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const Dependency = Type.Enum(['up', 'down']);
const HealthSchema = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  checks: Type.Object({ redis: Dependency, rabbitmq: Type.Enum(['up', 'down', 'blocked']) }),
});

/**
 * A Redis that does not answer PING within this counts as down: the check must
 * answer well within a load balancer's or orchestrator's probe timeout.
 */
const PING_TIMEOUT_MS = 1000;

/**
 * 200 when Redis and RabbitMQ are both reachable, 503 naming what is down.
 * A RabbitMQ that blocks publishing (memory or disk alarm) shows as `blocked`
 * with status 200: submissions get 503 meanwhile, but reads work, and every
 * backend shares the same broker, so taking this one out of a load balancer
 * would not help.
 */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', { schema: { response: { 200: HealthSchema, 503: HealthSchema } } }, async (_request, reply) => {
    const redisUp = await Promise.race([
      app.redis.ping().then(() => true),
      new Promise<boolean>((r) => setTimeout(r, PING_TIMEOUT_MS, false).unref()),
    ]).catch(() => false);
    const rabbitUp = app.jobQueue.connected();
    const ok = redisUp && rabbitUp;
    const rabbitmq = !rabbitUp ? 'down' : app.jobQueue.blockedReason() !== null ? 'blocked' : 'up';
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      checks: { redis: redisUp ? 'up' : 'down', rabbitmq },
    });
  });
};

export default healthRoutes;

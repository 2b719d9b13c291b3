import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const Dependency = Type.Enum(['up', 'down']);
const HealthSchema = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  checks: Type.Object({ redis: Dependency, rabbitmq: Dependency }),
});

/**
 * A Redis that does not answer PING within this counts as down: the check must
 * answer well within a load balancer's or orchestrator's probe timeout.
 */
const PING_TIMEOUT_MS = 1000;

/** 200 when Redis and RabbitMQ are both reachable, 503 naming what is down. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', { schema: { response: { 200: HealthSchema, 503: HealthSchema } } }, async (_request, reply) => {
    const redisUp = await Promise.race([
      app.redis.ping().then(() => true),
      new Promise<boolean>((r) => setTimeout(r, PING_TIMEOUT_MS, false).unref()),
    ]).catch(() => false);
    const rabbitUp = app.jobQueue.connected();
    const ok = redisUp && rabbitUp;
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      checks: { redis: redisUp ? 'up' : 'down', rabbitmq: rabbitUp ? 'up' : 'down' },
    });
  });
};

export default healthRoutes;

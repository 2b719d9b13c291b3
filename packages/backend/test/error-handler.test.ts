import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, ServiceUnavailableError } from '@relay/common';
import { installErrorHandling } from '../src/error-handler.js';

/** An app whose one route throws `err`, with its log lines collected. */
async function appThrowing(err: Error) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    name: 'test',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  installErrorHandling(app);
  app.get('/boom', async () => {
    throw err;
  });
  await app.ready();
  return { app, lines };
}

describe('error handler', () => {
  it('answers a ServiceUnavailableError as 503 with Retry-After, and logs the service and its cause', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
    const { app, lines } = await appThrowing(new ServiceUnavailableError('Redis', cause));
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({
      statusCode: 503,
      code: 'RELAY_ERR_UNAVAILABLE',
      error: 'Service Unavailable',
      message: 'Redis is unavailable; retry later',
    });
    expect(res.body).not.toContain('ECONNREFUSED');
    const line = lines.find((l) => l.msg === 'Redis is unavailable; retry later');
    expect(line).toMatchObject({ level: 50, service: 'Redis', err: { code: 'ECONNREFUSED' } });
    await app.close();
  });

  it('answers an unexpected error as 500 without its message or stack', async () => {
    const { app, lines } = await appThrowing(new Error('secret internals'));
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'RELAY_ERR_INTERNAL', message: 'Internal error' });
    expect(res.body).not.toContain('secret internals');
    expect(lines.some((l) => l.msg === 'unhandled error')).toBe(true);
    await app.close();
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TestServer } from './support/http-servers.js';
import type { RelayClient } from './support/relay-client.js';
import { keysWithPrefix, RABBITMQ_URL, REDIS_URL, waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * RabbitMQ and Redis "go down" (a TCP proxy in front of each cuts every
 * connection and refuses new ones) and come back: the backend answers 503
 * quickly while a dependency is down, and both processes recover by
 * themselves, without a restart.
 */
const rabbitProxy = new TcpProxy('127.0.0.1', Number(new URL(RABBITMQ_URL).port || 5672));
const redisProxy = new TcpProxy('127.0.0.1', Number(new URL(REDIS_URL).port || 6379));
let stack: Stack;
let api: RelayClient;
let redis: Redis;
const target = new TestServer();

beforeAll(async () => {
  await Promise.all([rabbitProxy.start(), redisProxy.start(), target.listen()]);
  const rabbitUrl = new URL(RABBITMQ_URL);
  rabbitUrl.port = String(rabbitProxy.port);
  stack = await startStack('recovery', {
    env: {
      RABBITMQ_URL: rabbitUrl.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
      PUBLISH_TIMEOUT_MS: '2000',
    },
  });
  api = stack.api;
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  // The processes stop while the proxies still let them close cleanly.
  await stack?.stop();
  await Promise.all([rabbitProxy.stop(), redisProxy.stop(), target.close()]);
  redis?.disconnect();
});

async function healthy(): Promise<boolean> {
  return (await api.send('GET', '/health')).status === 200;
}

async function runsAJob(): Promise<void> {
  const id = await api.submitOk({ targetUrl: target.url('/ok') });
  expect((await api.waitFinal(id, 20_000)).status).toBe('completed');
}

it('answers 503 while RabbitMQ is down, leaves no record behind, and recovers without a restart', async () => {
  await runsAJob();
  await rabbitProxy.stop();
  const keysBefore = (await keysWithPrefix(redis, stack.prefix)).length;

  const t0 = Date.now();
  const res = await api.submit({ targetUrl: target.url('/ok') });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'RELAY_ERR_UNAVAILABLE' });
  expect(Date.now() - t0).toBeLessThan(3000);
  expect((await keysWithPrefix(redis, stack.prefix)).length).toBe(keysBefore);

  const health = await api.send('GET', '/health');
  expect(health.status).toBe(503);
  expect(health.body.checks).toEqual({ redis: 'up', rabbitmq: 'down' });

  await rabbitProxy.start();
  await waitFor(healthy, 20_000, 'the backend to reconnect to RabbitMQ');
  await runsAJob(); // the worker reconnected too
});

it('answers 503 while Redis is down and recovers without a restart', async () => {
  await redisProxy.stop();
  const t0 = Date.now();
  const res = await api.submit({ targetUrl: target.url('/ok') });
  expect(res.status).toBe(503);
  expect(res.body).toMatchObject({ code: 'RELAY_ERR_UNAVAILABLE' });
  expect(Date.now() - t0).toBeLessThan(3000);

  const health = await api.send('GET', '/health');
  expect(health.status).toBe(503);
  expect(health.body.checks).toEqual({ redis: 'down', rabbitmq: 'up' });

  await redisProxy.start();
  await waitFor(healthy, 20_000, 'the backend to reconnect to Redis');
  await runsAJob();
});

it('finishes a job that was in backoff while RabbitMQ was down', async () => {
  let calls = 0;
  target.on('/once-down', (_req, res) => {
    calls++;
    res.writeHead(calls === 1 ? 503 : 200);
    res.end();
  });
  const id = await api.submitOk({ targetUrl: target.url('/once-down'), retryDelay: 1500 });
  await waitFor(async () => (await api.job(id)).body.status === 'retrying', 5000, 'the job to back off');
  await rabbitProxy.stop();
  await new Promise((r) => setTimeout(r, 1000));
  await rabbitProxy.start();
  const job = await api.waitFinal(id, 30_000);
  expect(job.status).toBe('completed');
  expect(job.attempts).toBe(2);
});

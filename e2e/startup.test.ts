import { describe, expect, it } from 'vitest';
import { freePort as deadPort, spawnRelay } from './support/processes.js';
import { RABBITMQ_URL, REDIS_URL, randomPrefix } from './support/services.js';

describe('start-up', () => {
  it('a wrong configuration stops the process with every problem listed', async () => {
    const backend = spawnRelay('backend', { PORT: 'abc', LOG_LEVEL: 'loud', REDIS_URL: 'http://127.0.0.1:6379' });
    expect(await backend.exited()).toBe(78);
    const out = backend.lines.join('\n');
    expect(out).toContain('PORT=abc: must be an integer');
    expect(out).toContain('LOG_LEVEL=loud: must be one of');
    expect(out).toContain('REDIS_URL: protocol must be one of redis:, rediss:');

    const worker = spawnRelay('worker', { WORKER_CONCURRENCY: '0', JOB_TTL_SECONDS: 'x' });
    expect(await worker.exited()).toBe(78);
    const wout = worker.lines.join('\n');
    expect(wout).toContain('WORKER_CONCURRENCY=0: must be between 1 and 1000');
    expect(wout).toContain('JOB_TTL_SECONDS=x: must be an integer');
  });

  it('refuses RELAY_AUTH=off beyond loopback, and RELAY_AUTH=on without a master key', async () => {
    const open = spawnRelay('backend', { RELAY_AUTH: 'off', HOST: '0.0.0.0', PORT: '0' });
    expect(await open.exited()).toBe(78);
    expect(open.lines.join('\n')).toContain('RELAY_AUTH=off is only allowed when HOST is a loopback address');

    const keyless = spawnRelay('backend', { RELAY_AUTH: 'on', RELAY_MASTER_KEY: '', PORT: '0' });
    expect(await keyless.exited()).toBe(78);
    expect(keyless.lines.join('\n')).toContain('RELAY_MASTER_KEY must be set when RELAY_AUTH=on');

    const short = spawnRelay('backend', { RELAY_AUTH: 'on', RELAY_MASTER_KEY: 'hunter2', PORT: '0' });
    expect(await short.exited()).toBe(78);
    const out = short.lines.join('\n');
    expect(out).toContain('RELAY_MASTER_KEY: must be at least 32 characters');
    expect(out).not.toContain('hunter2');
  });

  it('an unreachable Redis is named with its URL and how to start it, retried, then given up', async () => {
    const port = await deadPort();
    const t0 = Date.now();
    const backend = spawnRelay('backend', {
      RELAY_PREFIX: randomPrefix('startup'),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      RABBITMQ_URL,
      STARTUP_TIMEOUT_MS: '1500',
      PORT: '0',
    });
    expect(await backend.exited()).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500);
    const out = backend.lines.join('\n');
    expect(out).toContain(`cannot reach Redis at redis://127.0.0.1:${port}`);
    expect(out).toContain('docker compose -p relay-dev -f docker/dev-brokers.yml up -d redis');
    expect(backend.lines.filter((l) => l.includes('cannot reach Redis')).length).toBeGreaterThan(1);
  });

  it('an unreachable RabbitMQ is named without its password', async () => {
    const port = await deadPort();
    const worker = spawnRelay('worker', {
      RELAY_PREFIX: randomPrefix('startup'),
      RABBITMQ_URL: `amqp://guest:hunter2@127.0.0.1:${port}`,
      REDIS_URL,
      STARTUP_TIMEOUT_MS: '1000',
    });
    expect(await worker.exited()).toBe(1);
    const out = worker.lines.join('\n');
    expect(out).toContain(`cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:${port}`);
    expect(out).toContain('docker compose -p relay-dev -f docker/dev-brokers.yml up -d rabbitmq');
    expect(out).not.toContain('hunter2');
  });
});

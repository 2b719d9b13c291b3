import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RABBITMQ_URL, REDIS_URL } from '../../support/services.js';

/**
 * Stops and starts the machine's own RabbitMQ and Redis, for the fault suite
 * only (it must run alone: every other client of these servers sees the
 * outage too). RabbitMQ is stopped with `rabbitmqctl stop_app` (the broker
 * stops, connections drop, durable queues and persistent messages survive;
 * the Erlang node stays, so `start_app` takes seconds rather than a cold
 * boot). Redis is shut down without saving and started again with the
 * machine's own command line: like the servers here, it keeps nothing, so a
 * restart loses every key.
 */

const run = promisify(execFile);

const REDIS_START = [
  '--daemonize',
  'yes',
  '--bind',
  '127.0.0.1',
  '-::1',
  '--port',
  String(new URL(REDIS_URL).port || 6379),
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  '/var/lib/redis',
  '--logfile',
  '/var/log/redis/ci.log',
];

function portOf(url: string, fallback: number): number {
  return Number(new URL(url).port || fallback);
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function stopRabbitmq(): Promise<void> {
  await run('rabbitmqctl', ['stop_app'], { timeout: 60_000 });
  await until(async () => !(await portOpen(portOf(RABBITMQ_URL, 5672))), 30_000, 'RabbitMQ to stop listening');
}

export async function startRabbitmq(): Promise<void> {
  await run('rabbitmqctl', ['start_app'], { timeout: 120_000 });
  await run('rabbitmqctl', ['await_startup'], { timeout: 120_000 });
  await until(() => portOpen(portOf(RABBITMQ_URL, 5672)), 60_000, 'RabbitMQ to listen');
}

export async function stopRedis(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await redis.connect();
  // The server closes the connection as it exits: the command has no answer.
  await redis.call('SHUTDOWN', 'NOSAVE').catch(() => undefined);
  redis.disconnect();
  await until(async () => !(await portOpen(portOf(REDIS_URL, 6379))), 20_000, 'Redis to stop');
}

export async function startRedis(): Promise<void> {
  await run('redis-server', REDIS_START, { timeout: 20_000 });
  await until(
    async () => {
      const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await redis.connect();
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        redis.disconnect();
      }
    },
    20_000,
    'Redis to answer PING',
  );
}

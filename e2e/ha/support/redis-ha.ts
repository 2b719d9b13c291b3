import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectRedis, createLogger, type RedisTarget } from '@relay/common';
import type { Redis } from 'ioredis';

/**
 * The Redis HA set-ups of scripts/ha/ for tests: start them, ask them where
 * things are, kill their masters. Every call has a timeout; the scripts bind
 * 127.0.0.1 only, on their own ports.
 */

const run = promisify(execFile);
const SCRIPTS = fileURLToPath(new URL('../../../scripts/ha/', import.meta.url));

export async function haScript(script: 'redis-cluster.sh' | 'redis-sentinel.sh', ...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(`${SCRIPTS}${script}`, args, { timeout: 120_000 });
  if (stderr.trim()) console.log(stderr.trim());
  return stdout.trim();
}

export async function clusterTarget(): Promise<RedisTarget> {
  const nodes = (await haScript('redis-cluster.sh', 'nodes')).split(',').map((n) => {
    const [host, port] = n.split(':');
    return { host: host!, port: Number(port) };
  });
  return { kind: 'cluster', nodes, username: '', password: '' };
}

export const SENTINEL_NAME = 'relay-ha';

/** A connection as relay opens it (connectRedis), quiet. */
export function connectTarget(target: RedisTarget): Promise<Redis> {
  return connectRedis({ target, log: createLogger({ name: 'ha-test', level: 'silent' }), startupTimeoutMs: 30_000 });
}

/** The environment that points relay's processes at the cluster or the sentinels. */
export async function clusterEnv(): Promise<Record<string, string>> {
  return { REDIS_CLUSTER_NODES: await haScript('redis-cluster.sh', 'nodes') };
}

export async function sentinelEnv(): Promise<Record<string, string>> {
  return { REDIS_SENTINELS: await haScript('redis-sentinel.sh', 'sentinels'), REDIS_SENTINEL_NAME: SENTINEL_NAME };
}

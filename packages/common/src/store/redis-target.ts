import { type CommonConfig } from '../config.js';
import { parseHostPorts, redactUrl } from '../config-fields.js';

/**
 * Which Redis relay talks to: one server by URL (the default), a Redis
 * Cluster, or the master a Sentinel set-up names. Decided from the config
 * alone (pure), so that both processes and the tests agree.
 */
export type RedisTarget =
  | { kind: 'url'; url: string; username: string; password: string }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; username: string; password: string }
  | {
      kind: 'sentinel';
      sentinels: { host: string; port: number }[];
      name: string;
      username: string;
      password: string;
      sentinelPassword: string;
    };

type RedisTargetConfig = Pick<
  CommonConfig,
  | 'redisUrl'
  | 'redisClusterNodes'
  | 'redisSentinels'
  | 'redisSentinelName'
  | 'redisUsername'
  | 'redisPassword'
  | 'redisSentinelPassword'
>;

/** The target the config names (validated by loadConfig: at most one of cluster and sentinels). */
export function redisTarget(config: RedisTargetConfig): RedisTarget {
  const credentials = { username: config.redisUsername, password: config.redisPassword };
  if (config.redisClusterNodes) return { kind: 'cluster', nodes: parseHostPorts(config.redisClusterNodes)!, ...credentials };
  if (config.redisSentinels) {
    return {
      kind: 'sentinel',
      sentinels: parseHostPorts(config.redisSentinels)!,
      name: config.redisSentinelName,
      sentinelPassword: config.redisSentinelPassword,
      ...credentials,
    };
  }
  return { kind: 'url', url: config.redisUrl, ...credentials };
}

/** Where the target is, for logs and errors: never a password. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  switch (target.kind) {
    case 'url':
      return redactUrl(target.url);
    case 'cluster':
      return `cluster ${list(target.nodes)}`;
    case 'sentinel':
      return `sentinel ${target.name}@${list(target.sentinels)}`;
  }
}

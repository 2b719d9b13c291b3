import { describe, expect, it } from 'vitest';
import { commonConfigSpec, loadConfig } from '../../src/config.js';
import { ConfigError, parseHostPorts } from '../../src/config-fields.js';
import { describeRedisTarget, redisTarget } from '../../src/store/redis-target.js';

const load = (env: Record<string, string>) => loadConfig(commonConfigSpec, env);

describe('Redis target', () => {
  it('is REDIS_URL unless a cluster or sentinels are named', () => {
    expect(redisTarget(load({}))).toMatchObject({ kind: 'url', url: 'redis://127.0.0.1:6379' });
    const cluster = redisTarget(load({ REDIS_CLUSTER_NODES: '127.0.0.1:7101, 127.0.0.1:7102', REDIS_PASSWORD: 'pw' }));
    expect(cluster).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7101 },
        { host: '127.0.0.1', port: 7102 },
      ],
      username: '',
      password: 'pw',
    });
    const sentinel = redisTarget(load({ REDIS_SENTINELS: '[::1]:26401', REDIS_SENTINEL_NAME: 'relay-ha' }));
    expect(sentinel).toMatchObject({ kind: 'sentinel', name: 'relay-ha', sentinels: [{ host: '::1', port: 26401 }] });
    expect(describeRedisTarget(sentinel)).toBe('sentinel relay-ha@::1:26401');
    expect(describeRedisTarget(redisTarget(load({ REDIS_URL: 'redis://u:secret@127.0.0.1:1' })))).not.toContain('secret');
  });

  it('refuses malformed lists, both modes at once, and sentinels without a name, all together', () => {
    expect(parseHostPorts('a:1,b:2')).toHaveLength(2);
    for (const bad of ['a', 'a:0', 'a:70000', ':1', 'a:1,,b', 'a b:1']) {
      if (bad === 'a:1,,b') expect(parseHostPorts(bad)).toBeNull();
      else expect(parseHostPorts(bad), bad).toBeNull();
    }
    let error: unknown;
    try {
      load({ REDIS_CLUSTER_NODES: 'x', REDIS_SENTINELS: '127.0.0.1:1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('REDIS_CLUSTER_NODES=x');
    expect(problems).toContain('not both');
    expect(problems).toContain('REDIS_SENTINEL_NAME');
  });
});

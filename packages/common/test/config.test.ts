import { describe, expect, it } from 'vitest';
import { commonConfigSpec, loadConfig, rabbitmqUrlsOf } from '../src/config.js';
import { ConfigError, redactUrl } from '../src/config-fields.js';

/** Runs loadConfig and returns the ConfigError it throws (fails the test if it does not). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(commonConfigSpec, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig(commonConfigSpec)', () => {
  it('applies every default to an empty environment', () => {
    expect(loadConfig(commonConfigSpec, {})).toEqual({
      rabbitmqUrl: 'amqp://guest:guest@127.0.0.1:5672',
      rabbitmqUrls: '',
      queueType: 'quorum',
      redisUrl: 'redis://127.0.0.1:6379',
      prefix: 'relay',
      deadLetterMaxBytes: 0,
      jobTtlSeconds: 86_400,
      logLevel: 'info',
      startupTimeoutMs: 30_000,
      publishTimeoutMs: 5000,
      secretKey: '',
      secretKeysPrevious: '',
      redactHeaders: [],
      allowPrivateNetworks: '',
      jsonMaxDepth: 64,
      redisCommandTimeoutMs: 5000,
      redisEvictionCheck: 'warn',
      attemptLogMax: 100,
      redisClusterNodes: '',
      redisSentinels: '',
      redisSentinelName: '',
      redisUsername: '',
      redisPassword: '',
      redisSentinelPassword: '',
      redisWaitReplicas: 0,
      redisWaitTimeoutMs: 500,
    });
  });

  it('treats an empty string as unset', () => {
    expect(loadConfig(commonConfigSpec, { JOB_TTL_SECONDS: '', LOG_LEVEL: '' })).toMatchObject({
      deadLetterMaxBytes: 0,
      jobTtlSeconds: 86_400,
      logLevel: 'info',
    });
  });

  it('reads valid overrides, integers as numbers', () => {
    const config = loadConfig(commonConfigSpec, {
      RABBITMQ_URL: 'amqps://u:p@mq.example:5671/vhost',
      REDIS_URL: 'rediss://cache.example:6380/2',
      RELAY_PREFIX: 'test-1.a:b_c',
      JOB_TTL_SECONDS: '60',
      LOG_LEVEL: 'silent',
      STARTUP_TIMEOUT_MS: '0',
      JSON_MAX_DEPTH: '100',
    });
    expect(config).toEqual({
      rabbitmqUrl: 'amqps://u:p@mq.example:5671/vhost',
      rabbitmqUrls: '',
      queueType: 'quorum',
      redisUrl: 'rediss://cache.example:6380/2',
      prefix: 'test-1.a:b_c',
      deadLetterMaxBytes: 0,
      jobTtlSeconds: 60,
      logLevel: 'silent',
      startupTimeoutMs: 0,
      publishTimeoutMs: 5000,
      secretKey: '',
      secretKeysPrevious: '',
      redactHeaders: [],
      allowPrivateNetworks: '',
      jsonMaxDepth: 100,
      redisCommandTimeoutMs: 5000,
      redisEvictionCheck: 'warn',
      attemptLogMax: 100,
      redisClusterNodes: '',
      redisSentinels: '',
      redisSentinelName: '',
      redisUsername: '',
      redisPassword: '',
      redisSentinelPassword: '',
      redisWaitReplicas: 0,
      redisWaitTimeoutMs: 500,
    });
  });

  it('accepts both ends of an integer range', () => {
    expect(loadConfig(commonConfigSpec, { JOB_TTL_SECONDS: String(30 * 86_400) }).jobTtlSeconds).toBe(2_592_000);
    expect(loadConfig(commonConfigSpec, { STARTUP_TIMEOUT_MS: '600000' }).startupTimeoutMs).toBe(600_000);
  });

  it('ignores unrelated variables', () => {
    expect(loadConfig(commonConfigSpec, { PATH: '/bin', HOME: '/root' }).prefix).toBe('relay');
  });

  it('returns a frozen object', () => {
    const config = loadConfig(commonConfigSpec, {});
    expect(Object.isFrozen(config)).toBe(true);
  });

  describe('problems', () => {
    it.each([
      ['JOB_TTL_SECONDS', 'abc', 'must be an integer'],
      ['JOB_TTL_SECONDS', '1.5', 'must be an integer'],
      ['JOB_TTL_SECONDS', '59', 'must be between 60 and 2592000'],
      ['JOB_TTL_SECONDS', '2592001', 'must be between 60 and 2592000'],
      ['STARTUP_TIMEOUT_MS', '-1', 'must be between 0 and 600000'],
      ['LOG_LEVEL', 'verbose', 'must be one of fatal, error, warn, info, debug, trace, silent'],
      ['LOG_LEVEL', 'INFO', 'must be one of'],
      ['RELAY_PREFIX', 'my prefix', "use letters, digits, '_', '.', ':' or '-'"],
      ['REDIS_URL', 'http://127.0.0.1:6379', 'protocol must be one of redis:, rediss: (got http:)'],
      ['RABBITMQ_URL', 'not a url', 'not a valid URL'],
      ['RABBITMQ_URLS', 'amqp://127.0.0.1:5681,nope', 'URL 2 of 2): not a valid URL'],
      ['RABBITMQ_URLS', 'http://127.0.0.1:5681', 'protocol must be one of amqp:, amqps: (got http:)'],
      ['RELAY_QUEUE_TYPE', 'stream', 'must be one of quorum, classic'],
    ])('%s=%j: %s', (env, value, message) => {
      const err = configError({ [env]: value });
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toContain(env);
      expect(err.problems[0]).toContain(message);
      expect(err.message).toContain(message);
    });

    it('reports every problem together in one error', () => {
      const err = configError({
        JOB_TTL_SECONDS: 'ten',
        STARTUP_TIMEOUT_MS: '999999999',
        LOG_LEVEL: 'loud',
        REDIS_URL: 'https://cache.example',
        RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672', // valid: not reported
      });
      expect(err.problems).toHaveLength(4);
      expect(err.problems.map((p) => p.split(/[=:]/)[0])).toEqual([
        'REDIS_URL',
        'JOB_TTL_SECONDS',
        'LOG_LEVEL',
        'STARTUP_TIMEOUT_MS',
      ]);
      for (const p of err.problems) expect(err.message).toContain(`  - ${p}`);
      expect(err.message).not.toContain('RABBITMQ_URL');
      expect(err.name).toBe('ConfigError');
    });

    it.each([
      ['RABBITMQ_URL', 'http://admin:s3cr3t-pw@mq.example:5672'],
      ['REDIS_URL', 'amqp://:s3cr3t-pw@cache.example'],
      ['RABBITMQ_URL', 'amqp://admin:s3cr3t-pw@[bad-host'],
      ['RABBITMQ_URLS', 'amqp://admin:s3cr3t-pw@127.0.0.1:5681,amqp://admin:s3cr3t-pw@[bad-host'],
    ])('never echoes the password in %s=%s', (env, value) => {
      const err = configError({ [env]: value });
      expect(err.problems).toHaveLength(1);
      expect(err.message).toContain(env);
      expect(err.message).not.toContain('s3cr3t-pw');
      expect(err.problems.join('\n')).not.toContain('s3cr3t-pw');
    });
  });
});

describe('RELAY_REDACT_HEADERS', () => {
  it('reads a comma-separated list of header names, lower-cased, trimmed, without duplicates', () => {
    const config = loadConfig(commonConfigSpec, { RELAY_REDACT_HEADERS: ' X-Tenant-Token, x-signature,,X-SIGNATURE ' });
    expect(config.redactHeaders).toEqual(['x-tenant-token', 'x-signature']);
    expect(Object.isFrozen(config.redactHeaders)).toBe(true);
  });

  it('is an empty list when unset', () => {
    expect(loadConfig(commonConfigSpec, {}).redactHeaders).toEqual([]);
    expect(loadConfig(commonConfigSpec, { RELAY_REDACT_HEADERS: '' }).redactHeaders).toEqual([]);
  });

  it('refuses names that are not HTTP tokens, naming each, with the other problems', () => {
    const err = configError({ RELAY_REDACT_HEADERS: 'x-ok, bad name,x:colon', LOG_LEVEL: 'loud' });
    expect(err.problems).toHaveLength(2);
    const problem = err.problems.find((p) => p.startsWith('RELAY_REDACT_HEADERS'));
    expect(problem).toBe('RELAY_REDACT_HEADERS: not HTTP header names: "bad name", "x:colon"');
  });
});

describe('RELAY_ALLOW_PRIVATE_NETWORKS', () => {
  it('keeps a valid list of CIDRs, addresses and host names as written', () => {
    const raw = '127.0.0.0/8, ::1/128,10.1.2.3,localhost,billing.internal.';
    expect(loadConfig(commonConfigSpec, { RELAY_ALLOW_PRIVATE_NETWORKS: raw }).allowPrivateNetworks).toBe(raw);
  });

  it('reports each unusable entry, with the other problems', () => {
    const err = configError({
      RELAY_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/33,localhost,http://x,::1/129',
      LOG_LEVEL: 'loud',
    });
    expect(err.problems).toEqual([
      'LOG_LEVEL=loud: must be one of fatal, error, warn, info, debug, trace, silent',
      'RELAY_ALLOW_PRIVATE_NETWORKS: "10.0.0.0/33" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
      'RELAY_ALLOW_PRIVATE_NETWORKS: "http://x" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
      'RELAY_ALLOW_PRIVATE_NETWORKS: "::1/129" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
    ]);
  });
});

describe('redactUrl', () => {
  it.each([
    ['amqp://guest:guest@127.0.0.1:5672', 'amqp://guest:***@127.0.0.1:5672'],
    ['redis://:hunter2@cache.example:6379/0', 'redis://:***@cache.example:6379/0'],
    ['https://u:p%40ss@api.example/path?q=1', 'https://u:***@api.example/path?q=1'],
  ])('hides the password of %s', (raw, expected) => {
    const out = redactUrl(raw);
    expect(out).toBe(expected);
  });

  it.each(['redis://127.0.0.1:6379', 'amqp://user@mq.example:5672/vh'])(
    'leaves %s without a password as it is',
    (raw) => {
      expect(redactUrl(raw)).toBe(raw);
    },
  );

  it('never returns an invalid URL, which might hold a password', () => {
    expect(redactUrl('amqp://admin:s3cr3t@[bad')).toBe('<invalid url>');
    expect(redactUrl('')).toBe('<invalid url>');
  });
});

describe('rabbitmqUrlsOf', () => {
  const single = 'amqp://guest:guest@127.0.0.1:5672';
  it('is the one RABBITMQ_URL when RABBITMQ_URLS is unset', () => {
    expect(rabbitmqUrlsOf(loadConfig(commonConfigSpec, { RABBITMQ_URL: single }))).toEqual([single]);
  });

  it('is RABBITMQ_URLS in order, trimmed, empty entries left out, when set', () => {
    const config = loadConfig(commonConfigSpec, {
      RABBITMQ_URL: single,
      RABBITMQ_URLS: ' amqp://127.0.0.1:5681 ,amqp://127.0.0.1:5682,, amqp://127.0.0.1:5683',
    });
    expect(rabbitmqUrlsOf(config)).toEqual(['amqp://127.0.0.1:5681', 'amqp://127.0.0.1:5682', 'amqp://127.0.0.1:5683']);
  });
});

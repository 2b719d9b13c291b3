/**
 * Configuration from environment variables, validated once at start-up.
 * Every problem is collected and reported together; the result is frozen.
 * The kinds of fields and their parsing are in config-fields.ts.
 */

import { ConfigError, parseField, type ConfigOf, type FieldSpec } from './config-fields.js';
import { DEFAULT_JSON_MAX_DEPTH } from './json-depth.js';
import { MessageLimits } from './messages/types.js';
import { DEFAULT_QUEUE_TYPE, QUEUE_TYPES } from './keys/queues.js';

/** Shared by both processes. Defaults are for local development. */
export const commonConfigSpec = {
  rabbitmqUrl: {
    kind: 'url',
    env: 'RABBITMQ_URL',
    default: 'amqp://guest:guest@127.0.0.1:5672',
    protocols: ['amqp:', 'amqps:'],
    doc: 'RabbitMQ connection URL',
  },
  rabbitmqUrls: {
    kind: 'urls',
    env: 'RABBITMQ_URLS',
    default: '',
    protocols: ['amqp:', 'amqps:'],
    doc: 'Comma-separated URLs of the nodes of a RabbitMQ cluster; replaces RABBITMQ_URL when set. A connection that fails or is lost goes on to the next node, and its channels and consumers are set up again there',
  },
  redisUrl: {
    kind: 'url',
    env: 'REDIS_URL',
    default: 'redis://127.0.0.1:6379',
    protocols: ['redis:', 'rediss:'],
    doc: 'Redis connection URL (one server; the default unless REDIS_CLUSTER_NODES or REDIS_SENTINELS is set). May carry `user:password@`',
  },
  redisClusterNodes: {
    kind: 'hostPorts',
    env: 'REDIS_CLUSTER_NODES',
    default: '',
    doc: 'Redis Cluster: some of its nodes (the rest are discovered); relay then talks to the cluster instead of REDIS_URL. Credentials from REDIS_USERNAME and REDIS_PASSWORD',
  },
  redisSentinels: {
    kind: 'hostPorts',
    env: 'REDIS_SENTINELS',
    default: '',
    doc: 'Redis Sentinel: the sentinels to ask for the current master of REDIS_SENTINEL_NAME; relay then talks to that master instead of REDIS_URL. Credentials from REDIS_USERNAME and REDIS_PASSWORD',
  },
  redisSentinelName: {
    kind: 'string',
    env: 'REDIS_SENTINEL_NAME',
    default: '',
    doc: 'The master name the sentinels know (needed with REDIS_SENTINELS)',
  },
  redisUsername: {
    kind: 'string',
    env: 'REDIS_USERNAME',
    default: '',
    doc: "ACL user for Redis Cluster nodes or the Sentinel-managed master (with REDIS_URL, the URL's user is used when this is unset)",
  },
  redisPassword: {
    kind: 'secret',
    env: 'REDIS_PASSWORD',
    default: '',
    minLength: 1,
    doc: "Password for Redis Cluster nodes or the Sentinel-managed master (with REDIS_URL, the URL's password is used when this is unset)",
  },
  redisSentinelPassword: {
    kind: 'secret',
    env: 'REDIS_SENTINEL_PASSWORD',
    default: '',
    minLength: 1,
    doc: 'Password of the sentinels themselves, when they require one',
  },
  redisWaitReplicas: {
    kind: 'int',
    env: 'REDIS_WAIT_REPLICAS',
    default: 0,
    min: 0,
    max: 16,
    doc: "Replicas that must hold a new job before it is answered 202 (Redis WAIT after the write); fewer within REDIS_WAIT_TIMEOUT_MS: 503 and the job is removed. 0 = answer once the master has it (a master lost before replicating loses it: docs/guarantees.md)",
  },
  redisWaitTimeoutMs: {
    kind: 'int',
    env: 'REDIS_WAIT_TIMEOUT_MS',
    default: 500,
    min: 1,
    max: 60_000,
    doc: 'How long a job submission waits for REDIS_WAIT_REPLICAS replicas (ms)',
  },
  // In the common spec: the backend and the worker must declare the same
  // queues, and a queue's type fixes its name (keys/queues.ts).
  queueType: {
    kind: 'enum',
    env: 'RELAY_QUEUE_TYPE',
    default: DEFAULT_QUEUE_TYPE,
    values: QUEUE_TYPES,
    doc: 'RabbitMQ queue type: `quorum` (replicated over a cluster, at-least-once dead-lettering, one work queue per priority level) or `classic` (one node, the layout of earlier versions). The two use different queue names; switching needs the migration in docs/operations.md',
  },
  prefix: {
    kind: 'string',
    env: 'RELAY_PREFIX',
    default: 'relay',
    doc: 'Prefix of every Redis key and RabbitMQ queue name',
  },
  deadLetterMaxBytes: {
    kind: 'int',
    env: 'DEAD_LETTER_MAX_BYTES',
    default: 0,
    min: 0,
    max: 1_099_511_627_776,
    doc: 'Most bytes of message bodies the dead-letter archive keeps (oldest dropped first); 0 = bounded by count only. Changing it on an existing archive needs a migration (docs/operations.md)',
  },
  jobTtlSeconds: {
    kind: 'int',
    env: 'JOB_TTL_SECONDS',
    default: 86_400,
    min: 60,
    max: 30 * 86_400,
    doc: 'How long a job and its attempt log are kept in Redis after their last write (s)',
  },
  logLevel: {
    kind: 'enum',
    env: 'LOG_LEVEL',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'pino log level',
  },
  startupTimeoutMs: {
    kind: 'int',
    env: 'STARTUP_TIMEOUT_MS',
    default: 30_000,
    min: 0,
    max: 600_000,
    doc: 'How long to keep retrying RabbitMQ and Redis at start-up before giving up (ms)',
  },
  secretKey: {
    kind: 'key',
    env: 'RELAY_SECRET_KEY',
    default: '',
    doc: 'Key (32 bytes, base64) that encrypts credential headers in Redis and in broker messages (and so in dead letters), and signing secrets in Redis, so failed jobs can be replayed with them; unset: credentials are kept only in the queued message, in clear',
  },
  secretKeysPrevious: {
    kind: 'keys',
    env: 'RELAY_SECRET_KEYS_PREVIOUS',
    default: '',
    doc: 'Earlier values of RELAY_SECRET_KEY (comma-separated, each 32 bytes base64): still read, never used to encrypt; see the rotation procedure in docs/security.md',
  },
  publishTimeoutMs: {
    kind: 'int',
    env: 'PUBLISH_TIMEOUT_MS',
    default: 5000,
    min: 100,
    max: 60_000,
    doc: 'How long to wait for a RabbitMQ publisher confirm before giving up (ms); the backend then answers 503',
  },
  // In the common spec so that the backend (API, job store) and the worker
  // (logs, recorded response headers) redact the same names.
  redactHeaders: {
    kind: 'headerNames',
    env: 'RELAY_REDACT_HEADERS',
    default: '',
    doc: 'Comma-separated header names (any case) treated as credentials on top of the built-in `authorization`, `cookie`, `set-cookie`, `x-api-key`, `proxy-authorization`: never logged, shown as `[redacted]`, kept in Redis only sealed',
  },
  // In the common spec: the backend refuses literal addresses at submission,
  // the worker refuses the addresses it would connect to.
  allowPrivateNetworks: {
    kind: 'networks',
    env: 'RELAY_ALLOW_PRIVATE_NETWORKS',
    default: '',
    doc: 'Comma-separated CIDRs (`127.0.0.0/8`, `::1/128`) and host names (`localhost`) that targets and callbacks may reach although loopback, private, link-local or reserved; unset: all such addresses are refused (see SSRF guard)',
  },
  // In the common spec: the backend refuses submissions nested deeper, the
  // worker keeps a target's JSON answer nested deeper as text.
  jsonMaxDepth: {
    kind: 'int',
    env: 'JSON_MAX_DEPTH',
    default: DEFAULT_JSON_MAX_DEPTH,
    min: 8,
    // Messages carry payloads and responses: the codec accepts this much.
    max: MessageLimits.jsonDepth.payload,
    doc: 'Deepest nesting of objects and arrays accepted in a request body (deeper: 400 RELAY_ERR_JSON_TOO_DEEP); a target response body nested deeper is stored as its text',
  },
  // What Redis must be told, and the cap of one job's attempt log.
  redisCommandTimeoutMs: {
    kind: 'int',
    env: 'REDIS_COMMAND_TIMEOUT_MS',
    default: 5000,
    min: 100,
    max: 60_000,
    doc: 'How long a Redis command may take before it fails (ms): a stalled Redis then gives 503s and deferrals instead of hung requests',
  },
  redisEvictionCheck: {
    kind: 'enum',
    env: 'REDIS_EVICTION_CHECK',
    default: 'warn',
    values: ['warn', 'refuse'],
    doc: "What to do at start when Redis's `maxmemory-policy` is not `noeviction` (an evicting Redis silently loses jobs): `warn` logs a warning, `refuse` stops with an error; when CONFIG GET is disabled (managed Redis) it is only warned that the policy could not be checked",
  },
  attemptLogMax: {
    kind: 'int',
    env: 'ATTEMPT_LOG_MAX',
    default: 100,
    min: 11,
    max: 10_000,
    doc: "Most entries one job's attempt log keeps; older ones are dropped (the API's attemptsLogTotal still counts them, attemptsLogDropped says how many went)",
  },
} as const satisfies Record<string, FieldSpec>;

export type CommonConfig = ConfigOf<typeof commonConfigSpec>;

/**
 * Settings that are valid alone but not together: which Redis to talk to is
 * one of a URL, a cluster or a sentinel set-up.
 */
function redisTargetProblems(env: Record<string, string | undefined>): string[] {
  const problems: string[] = [];
  if (env.REDIS_CLUSTER_NODES && env.REDIS_SENTINELS)
    problems.push('REDIS_CLUSTER_NODES and REDIS_SENTINELS: set one of them, not both');
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME)
    problems.push('REDIS_SENTINELS: needs REDIS_SENTINEL_NAME, the master name the sentinels know');
  return problems;
}

/** Reads and validates `spec` from `env`; throws ConfigError listing every problem. */
export function loadConfig<S extends Record<string, FieldSpec>>(
  spec: S,
  env: Record<string, string | undefined> = process.env,
): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, string | number | readonly string[]> = {};
  for (const [key, field] of Object.entries(spec)) out[key] = parseField(field, env[field.env], problems);
  if ('redisClusterNodes' in spec) problems.push(...redisTargetProblems(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/**
 * The RabbitMQ nodes to connect to, in order: RABBITMQ_URLS when set, else
 * the one RABBITMQ_URL.
 */
export function rabbitmqUrlsOf(config: { rabbitmqUrl: string; rabbitmqUrls: string }): string[] {
  const urls = config.rabbitmqUrls
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  return urls.length > 0 ? urls : [config.rabbitmqUrl];
}

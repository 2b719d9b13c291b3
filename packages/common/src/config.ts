/**
 * Configuration from environment variables, validated once at start-up.
 * Every problem is collected and reported together; the result is frozen.
 */

import { parseNetworkAllowlist } from './address-policy.js';
import { DEFAULT_JSON_MAX_DEPTH } from './json-depth.js';
import { MessageLimits } from './messages/types.js';
import { DEFAULT_QUEUE_TYPE, QUEUE_TYPES } from './keys/queues.js';

type FieldSpec =
  | { kind: 'string'; env: string; default: string; doc: string }
  | { kind: 'url'; env: string; default: string; protocols: readonly string[]; doc: string }
  /** Comma-separated URLs, each checked like 'url'; kept as written, '' when unset. Never echoed in errors. */
  | { kind: 'urls'; env: string; default: ''; protocols: readonly string[]; doc: string }
  | { kind: 'int'; env: string; default: number; min: number; max: number; doc: string }
  | { kind: 'enum'; env: string; default: string; values: readonly string[]; doc: string }
  /** 32 random bytes, base64; '' when unset. Never echoed in errors. */
  | { kind: 'key'; env: string; default: ''; doc: string }
  /** Comma-separated keys of kind 'key'; kept as written, '' when unset. Never echoed in errors. */
  | { kind: 'keys'; env: string; default: ''; doc: string }
  /** A password-like string of at least `minLength` characters; '' when unset. Never echoed in errors. */
  | { kind: 'secret'; env: string; default: ''; minLength: number; doc: string }
  /** Comma-separated HTTP header names; read as a lower-case list ([] when unset). */
  | { kind: 'headerNames'; env: string; default: ''; doc: string }
  /** Comma-separated CIDRs and host names (see address-policy.ts); kept as written, '' when unset. */
  | { kind: 'networks'; env: string; default: ''; doc: string }
  /** Comma-separated host:port pairs; kept as written, '' when unset (parseHostPorts reads it). */
  | { kind: 'hostPorts'; env: string; default: ''; doc: string }
  /** An absolute file-system path; '' when unset (the setting then names its own default). */
  | { kind: 'path'; env: string; default: ''; doc: string };

type ValueOf<F extends FieldSpec> = F extends { kind: 'int' }
  ? number
  : F extends { kind: 'headerNames' }
    ? readonly string[]
    : string;
export type ConfigOf<S extends Record<string, FieldSpec>> = { readonly [K in keyof S]: ValueOf<S[K]> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

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

/** RFC 9110 token: what an HTTP header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** 32 bytes in base64: what an AES-256 key of RELAY_SECRET_KEY is. */
function isKey(raw: string): boolean {
  return Buffer.from(raw, 'base64').length === 32 && /^[A-Za-z0-9+/]+=*$/.test(raw);
}

function parseField(spec: FieldSpec, raw: string | undefined, problems: string[]): string | number | readonly string[] {
  if (spec.kind === 'headerNames') {
    const names = (raw ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== '');
    const bad = names.filter((n) => !HEADER_NAME.test(n));
    if (bad.length > 0)
      problems.push(`${spec.env}: not HTTP header names: ${bad.map((n) => JSON.stringify(n)).join(', ')}`);
    return Object.freeze([...new Set(names.map((n) => n.toLowerCase()))]);
  }
  if (raw === undefined || raw === '') return spec.default;
  switch (spec.kind) {
    case 'string':
      if (!/^[A-Za-z0-9_.:-]+$/.test(raw))
        problems.push(`${spec.env}=${raw}: use letters, digits, '_', '.', ':' or '-'`);
      return raw;
    case 'url': {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        problems.push(`${spec.env}: not a valid URL`);
        return raw;
      }
      // Never echo the URL itself: it may carry a password.
      if (!spec.protocols.includes(url.protocol)) {
        problems.push(`${spec.env}: protocol must be one of ${spec.protocols.join(', ')} (got ${url.protocol})`);
      }
      return raw;
    }
    case 'urls': {
      const urls = raw
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
      urls.forEach((one, i) => {
        const where = `${spec.env} (URL ${i + 1} of ${urls.length})`;
        let url: URL;
        try {
          url = new URL(one);
        } catch {
          problems.push(`${where}: not a valid URL`);
          return;
        }
        if (!spec.protocols.includes(url.protocol)) {
          problems.push(`${where}: protocol must be one of ${spec.protocols.join(', ')} (got ${url.protocol})`);
        }
      });
      return raw;
    }
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) {
        problems.push(`${spec.env}=${raw}: must be an integer`);
        return spec.default;
      }
      const n = Number(raw);
      if (n < spec.min || n > spec.max)
        problems.push(`${spec.env}=${raw}: must be between ${spec.min} and ${spec.max}`);
      return n;
    }
    case 'secret':
      if (raw.length < spec.minLength || /\s/.test(raw)) {
        problems.push(
          `${spec.env}: must be at least ${spec.minLength} characters without spaces (e.g. \`openssl rand -base64 32\`)`,
        );
      }
      return raw;
    case 'key':
      if (!isKey(raw)) {
        problems.push(`${spec.env}: must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      }
      return raw;
    case 'keys':
      if (raw.split(',').some((k) => k.trim() !== '' && !isKey(k.trim()))) {
        problems.push(`${spec.env}: each key must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      }
      return raw;
    case 'enum':
      if (!spec.values.includes(raw)) problems.push(`${spec.env}=${raw}: must be one of ${spec.values.join(', ')}`);
      return raw;
    case 'networks':
      for (const problem of parseNetworkAllowlist(raw).problems) problems.push(`${spec.env}: ${problem}`);
      return raw;
    case 'hostPorts':
      if (parseHostPorts(raw) === null) problems.push(`${spec.env}=${raw}: must be comma-separated host:port pairs`);
      return raw;
    case 'path':
      // Relative paths would depend on the directory the process was started from.
      if (!raw.startsWith('/') || raw.includes('\0')) problems.push(`${spec.env}=${raw}: must be an absolute path`);
      return raw;
  }
}

/** `host:port,host:port` (IPv6 in brackets) as a list, or null when malformed. Pure. */
export function parseHostPorts(raw: string): { host: string; port: number }[] | null {
  const out: { host: string; port: number }[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) return null;
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out.length > 0 ? out : null;
}

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

/** What a value may be, as a reader would check it by hand. */
function allowedValues(field: FieldSpec): string {
  switch (field.kind) {
    case 'int':
      return `${field.min}–${field.max}`;
    case 'enum':
      return field.values.map((v) => `\`${v}\``).join(', ');
    case 'url':
      return `${field.protocols.map((p) => `\`${p}\``).join(' or ')} URL`;
    case 'urls':
      return `comma-separated ${field.protocols.map((p) => `\`${p}\``).join(' or ')} URLs`;
    case 'string':
      return 'letters, digits, `_` `.` `:` `-`';
    case 'key':
      return '32 bytes, base64';
    case 'keys':
      return 'comma-separated keys, each 32 bytes, base64';
    case 'secret':
      return `≥ ${field.minLength} characters, no spaces`;
    case 'headerNames':
      return 'comma-separated header names';
    case 'networks':
      return 'comma-separated CIDRs, addresses, host names';
    case 'hostPorts':
      return 'comma-separated `host:port`';
    case 'path':
      return 'absolute path';
    default:
      return '';
  }
}

/** A Markdown table of settings (variable, default, allowed values, meaning): docs/configuration.md is made of these. */
export function describeConfig(fields: readonly FieldSpec[]): string {
  const rows = fields.map((f) => {
    const shown = f.default === '' ? '(unset)' : `\`${String(f.default)}\``;
    return `| \`${f.env}\` | ${shown} | ${allowedValues(f)} | ${f.doc.replaceAll('|', '\\|')} |`;
  });
  return ['| variable | default | allowed | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
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

/** Removes the password from a URL for logs and messages. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '<invalid url>';
  }
}

export type { FieldSpec };

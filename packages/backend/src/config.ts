import { commonConfigSpec, ConfigError, loadConfig, type ConfigOf } from '@relay/common';

export const backendConfigSpec = {
  ...commonConfigSpec,
  port: { kind: 'int', env: 'PORT', default: 3000, min: 0, max: 65_535, doc: 'HTTP port of the API' },
  host: {
    kind: 'string',
    env: 'HOST',
    default: '127.0.0.1',
    doc: 'Interface the API listens on (use 0.0.0.0 in a container)',
  },
  bodyLimitBytes: {
    kind: 'int',
    env: 'BODY_LIMIT_BYTES',
    default: 1_048_576,
    min: 1024,
    max: 104_857_600,
    doc: 'Largest accepted request body; larger bodies get 413',
  },
  auth: {
    kind: 'enum',
    env: 'RELAY_AUTH',
    default: 'on',
    values: ['on', 'off'],
    doc: 'API keys on /api routes; `off` is refused unless HOST is a loopback address (`pnpm start` sets it)',
  },
  masterKey: {
    kind: 'secret',
    env: 'RELAY_MASTER_KEY',
    default: '',
    minLength: 32,
    doc: 'Key that manages applications (/api/applications); required when RELAY_AUTH=on',
  },
  rateLimitMax: {
    kind: 'int',
    env: 'RATE_LIMIT_MAX',
    default: 6000,
    min: 1,
    max: 10_000_000,
    doc: 'Requests per window an application may make to /api, unless the application has its own limit',
  },
  rateLimitWindowMs: {
    kind: 'int',
    env: 'RATE_LIMIT_WINDOW_MS',
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    doc: 'Length of the rate-limit window (ms)',
  },
  quotaMaxUnfinishedJobs: {
    kind: 'int',
    env: 'QUOTA_MAX_UNFINISHED_JOBS',
    default: 1_000_000,
    min: 1,
    max: 1_000_000_000,
    doc: 'Jobs an application may have queued, in progress or retrying at once, unless it has its own quota; more get 429',
  },
  quotaMaxStoredBytes: {
    kind: 'int',
    env: 'QUOTA_MAX_STORED_BYTES',
    default: 10_737_418_240,
    min: 1024,
    max: 1_099_511_627_776,
    doc: 'Bytes of job specs (plus 1 KiB per job) an application may create within one JOB_TTL_SECONDS, unless it has its own quota; more get 429',
  },
  quotaMaxPriority: {
    kind: 'enum',
    env: 'QUOTA_MAX_PRIORITY',
    default: 'normal',
    values: ['low', 'normal', 'high'],
    doc: 'Highest priority an application may submit unless the master key grants it more; RELAY_AUTH=off allows every priority',
  },
} as const;

export type BackendConfig = ConfigOf<typeof backendConfigSpec>;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export function loadBackendConfig(env: Record<string, string | undefined> = process.env): BackendConfig {
  const config = loadConfig(backendConfigSpec, env);
  const problems: string[] = [];
  // Without keys the API is an open relay: only tolerable when nothing but
  // this machine can reach it.
  if (config.auth === 'off' && !LOOPBACK_HOSTS.has(config.host) && !config.host.startsWith('127.')) {
    problems.push(`RELAY_AUTH=off is only allowed when HOST is a loopback address (HOST=${config.host})`);
  }
  if (config.auth === 'on' && !config.masterKey) {
    problems.push('RELAY_MASTER_KEY must be set when RELAY_AUTH=on (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

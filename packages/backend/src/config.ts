import { commonConfigSpec, ConfigError, loadConfig, type ConfigOf } from '@relay/common';
import { isLoopbackAddress } from './edge/loopback.js';

export const backendConfigSpec = {
  ...commonConfigSpec,
  port: { kind: 'int', env: 'PORT', default: 3000, min: 0, max: 65_535, doc: 'HTTP port of the API' },
  host: {
    kind: 'string',
    env: 'HOST',
    default: '127.0.0.1',
    doc: 'Interface the API listens on (use 0.0.0.0 in a container)',
  },
  consoleDistDir: {
    kind: 'path',
    env: 'CONSOLE_DIST_DIR',
    default: '',
    doc: 'Directory of the built console served at /console (its index.html and assets); unset: packages/console/dist of this checkout. Read at start-up',
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
    doc: 'API keys on /api routes; `off` is refused unless HOST is a loopback IP literal or `localhost`, and then only loopback Host headers are answered (`pnpm start` sets it)',
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
  requestTimeoutMs: {
    kind: 'int',
    env: 'HTTP_REQUEST_TIMEOUT_MS',
    default: 30_000,
    min: 1000,
    max: 600_000,
    doc: 'Time a client has to send a whole request (headers and body); a slower one is cut off with 408 (slowloris guard)',
  },
  headersTimeoutMs: {
    kind: 'int',
    env: 'HTTP_HEADERS_TIMEOUT_MS',
    default: 10_000,
    min: 500,
    max: 600_000,
    doc: 'Time a client has to send the request headers; at most HTTP_REQUEST_TIMEOUT_MS',
  },
  connectionTimeoutMs: {
    kind: 'int',
    env: 'HTTP_CONNECTION_TIMEOUT_MS',
    default: 60_000,
    min: 1000,
    max: 3_600_000,
    doc: 'A socket with no traffic for this long is closed',
  },
  keepAliveTimeoutMs: {
    kind: 'int',
    env: 'HTTP_KEEP_ALIVE_TIMEOUT_MS',
    default: 5000,
    min: 100,
    max: 600_000,
    doc: 'An idle keep-alive connection is closed after this long (set it above the idle timeout of a load balancer in front)',
  },
  maxRequestsPerSocket: {
    kind: 'int',
    env: 'HTTP_MAX_REQUESTS_PER_SOCKET',
    default: 1000,
    min: 0,
    max: 1_000_000,
    doc: 'Requests one keep-alive connection may carry before it is closed (0: no limit)',
  },
  strangerLimitMax: {
    kind: 'int',
    env: 'STRANGER_LIMIT_MAX',
    default: 30,
    min: 1,
    max: 1_000_000,
    doc: 'Requests without a valid API key (401) one client IP may make per window; then its keyed requests get 429 until the window ends',
  },
  strangerLimitWindowMs: {
    kind: 'int',
    env: 'STRANGER_LIMIT_WINDOW_MS',
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    doc: 'Length of the window of STRANGER_LIMIT_MAX (ms)',
  },
  metricsToken: {
    kind: 'secret',
    env: 'METRICS_TOKEN',
    default: '',
    minLength: 16,
    doc: 'When set, GET /metrics needs `Authorization: Bearer <token>`; unset, /metrics is public (set it in production, see docs/security.md)',
  },
  metricsTenantLabels: {
    kind: 'enum',
    env: 'METRICS_TENANT_LABELS',
    default: 'on',
    values: ['on', 'off'],
    doc: 'Per-application `application` label on job metrics; `off` counts every application as `_all` (hides tenant ids and volumes)',
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

export function loadBackendConfig(env: Record<string, string | undefined> = process.env): BackendConfig {
  const config = loadConfig(backendConfigSpec, env);
  const problems: string[] = [];
  // Without keys the API is an open relay: only tolerable when nothing but
  // this machine can reach it.
  if (config.auth === 'off' && !isLoopbackAddress(config.host)) {
    problems.push(
      `RELAY_AUTH=off is only allowed when HOST is a loopback address: an IP literal in 127.0.0.0/8 or ::1, or localhost (HOST=${config.host})`,
    );
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push('HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS');
  }
  if (config.auth === 'on' && !config.masterKey) {
    problems.push('RELAY_MASTER_KEY must be set when RELAY_AUTH=on (e.g. `openssl rand -base64 32`)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

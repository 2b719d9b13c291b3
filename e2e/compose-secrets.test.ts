import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * docker/init-secrets.sh and docker/entrypoint.sh (default deployment and `ha`
 * profile), run with the host's sh in a
 * temporary directory standing in for compose's volumes. No broker, no Docker.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const INIT = path.join(ROOT, 'docker/init-secrets.sh');
const ENTRY = path.join(ROOT, 'docker/entrypoint.sh');
const BANNER = 'generated master key';

let dir: string;
let dirs: { RELAY_DIR: string; REDIS_DIR: string; RABBITMQ_DIR: string };

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay-secrets-'));
  dirs = {
    RELAY_DIR: path.join(dir, 'relay'),
    REDIS_DIR: path.join(dir, 'redis'),
    RABBITMQ_DIR: path.join(dir, 'rabbitmq'),
  };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function init(extra: Record<string, string> = {}) {
  return spawnSync('sh', [INIT], { env: { PATH: process.env.PATH, ...dirs, ...extra }, encoding: 'utf8' });
}

/** Runs the entrypoint with `env` as the command: returns its variables and stderr. */
function entry(extra: Record<string, string>) {
  const res = spawnSync('sh', [ENTRY, 'env'], {
    env: { PATH: process.env.PATH, RELAY_SECRETS_DIR: dirs.RELAY_DIR, ...extra },
    encoding: 'utf8',
  });
  expect(res.status).toBe(0);
  const vars = Object.fromEntries(
    res.stdout
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { vars, stderr: res.stderr };
}

const read = (...p: string[]) => readFileSync(path.join(...p), 'utf8').trim();

describe('compose secrets (docker/init-secrets.sh, docker/entrypoint.sh)', () => {
  it('generates keys and broker credentials once, owner-only, and derives the URLs and broker files', () => {
    expect(init().status).toBe(0);
    const { RELAY_DIR, REDIS_DIR, RABBITMQ_DIR } = dirs;
    const secretKey = read(RELAY_DIR, 'secret-key');
    expect(Buffer.from(secretKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(secretKey, 'base64').toString('base64')).toBe(secretKey);
    const masterKey = read(RELAY_DIR, 'master-key');
    expect(masterKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const redisPassword = read(RELAY_DIR, 'redis-password');
    const rabbitPassword = read(RELAY_DIR, 'rabbitmq-password');
    expect(redisPassword).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rabbitPassword).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([masterKey, redisPassword, rabbitPassword]).size).toBe(3);
    expect(read(RELAY_DIR, 'redis-url')).toBe(`redis://relay:${redisPassword}@redis:6379`);
    expect(read(RELAY_DIR, 'rabbitmq-url')).toBe(`amqp://relay:${rabbitPassword}@rabbitmq:5672`);
    expect(read(REDIS_DIR, 'redis.conf')).toBe(`user default off\nuser relay on >${redisPassword} ~* &* +@all`);
    expect(read(REDIS_DIR, 'password')).toBe(redisPassword);
    expect(read(RABBITMQ_DIR, 'user')).toBe('relay');
    expect(read(RABBITMQ_DIR, 'password')).toBe(rabbitPassword);
    for (const f of ['master-key', 'secret-key', 'redis-password', 'rabbitmq-url']) {
      expect(statSync(path.join(RELAY_DIR, f)).mode & 0o077).toBe(0);
    }
    expect(statSync(path.join(REDIS_DIR, 'redis.conf')).mode & 0o077).toBe(0);
    for (const d of [RELAY_DIR, REDIS_DIR, RABBITMQ_DIR]) expect(statSync(d).mode & 0o777).toBe(0o700);
    // The broker volumes hold only their own broker's secret.
    expect(readFileSync(path.join(REDIS_DIR, 'redis.conf'), 'utf8')).not.toContain(masterKey);
    expect(readFileSync(path.join(RABBITMQ_DIR, 'password'), 'utf8')).not.toContain(redisPassword);

    // A second start changes no value, and follows a changed address.
    const before = ['master-key', 'secret-key', 'redis-password', 'rabbitmq-password'].map((f) => read(RELAY_DIR, f));
    expect(init({ REDIS_ADDRESS: 'cache:6380' }).status).toBe(0);
    const after = ['master-key', 'secret-key', 'redis-password', 'rabbitmq-password'].map((f) => read(RELAY_DIR, f));
    expect(after).toEqual(before);
    expect(read(RELAY_DIR, 'redis-url')).toBe(`redis://relay:${redisPassword}@cache:6380`);
  });

  it('the backend prints the generated master key on its first start only, never the secret key; the worker never', () => {
    expect(init().status).toBe(0);
    const masterKey = read(dirs.RELAY_DIR, 'master-key');
    const secretKey = read(dirs.RELAY_DIR, 'secret-key');

    const worker = entry({});
    expect(worker.vars.RELAY_MASTER_KEY).toBeUndefined();
    expect(worker.vars.RELAY_SECRET_KEY).toBe(secretKey);
    expect(worker.vars.REDIS_URL).toBe(read(dirs.RELAY_DIR, 'redis-url'));
    expect(worker.vars.RABBITMQ_URL).toBe(read(dirs.RELAY_DIR, 'rabbitmq-url'));
    expect(worker.stderr).toBe('');

    const first = entry({ RELAY_SECRETS_ROLE: 'backend' });
    expect(first.vars.RELAY_MASTER_KEY).toBe(masterKey);
    expect(first.stderr).toContain(BANNER);
    expect(first.stderr.split(masterKey)).toHaveLength(2);
    expect(first.stderr).not.toContain(secretKey);

    const second = entry({ RELAY_SECRETS_ROLE: 'backend' });
    expect(second.vars.RELAY_MASTER_KEY).toBe(masterKey);
    expect(second.stderr).toBe('');
    // A later init (a restart of the stack) does not announce it again.
    expect(init().status).toBe(0);
    expect(entry({ RELAY_SECRETS_ROLE: 'backend' }).stderr).toBe('');
  });

  it('keys and URLs given in the environment are used as they are, never written, never printed', () => {
    const given = { RELAY_MASTER_KEY: 'm'.repeat(40), RELAY_SECRET_KEY: Buffer.alloc(32, 7).toString('base64') };
    expect(init(given).status).toBe(0);
    expect(existsSync(path.join(dirs.RELAY_DIR, 'master-key'))).toBe(false);
    expect(existsSync(path.join(dirs.RELAY_DIR, 'secret-key'))).toBe(false);
    const files = execFileSync(
      'sh',
      ['-c', `cat "${dirs.RELAY_DIR}"/* "${dirs.REDIS_DIR}"/* "${dirs.RABBITMQ_DIR}"/*`],
      {
        encoding: 'utf8',
      },
    );
    expect(files).not.toContain(given.RELAY_MASTER_KEY);
    expect(files).not.toContain(given.RELAY_SECRET_KEY);

    const backend = entry({ ...given, RELAY_SECRETS_ROLE: 'backend', REDIS_URL: 'redis://own:6379' });
    expect(backend.vars.RELAY_MASTER_KEY).toBe(given.RELAY_MASTER_KEY);
    expect(backend.vars.RELAY_SECRET_KEY).toBe(given.RELAY_SECRET_KEY);
    expect(backend.vars.REDIS_URL).toBe('redis://own:6379');
    expect(backend.vars.RABBITMQ_URL).toBe(read(dirs.RELAY_DIR, 'rabbitmq-url'));
    expect(backend.stderr).toBe('');

    // Empty, as compose passes an unset variable: the generated value fills it.
    expect(init().status).toBe(0);
    const later = entry({ RELAY_SECRETS_ROLE: 'backend', RELAY_MASTER_KEY: '', RELAY_SECRET_KEY: '' });
    expect(later.vars.RELAY_MASTER_KEY).toBe(read(dirs.RELAY_DIR, 'master-key'));
    expect(later.vars.RELAY_SECRET_KEY).toBe(read(dirs.RELAY_DIR, 'secret-key'));
    expect(later.stderr).toContain(BANNER);
  });

  it('refuses to replace a key file that is empty, and leaves the environment alone without a secrets dir', () => {
    expect(init().status).toBe(0);
    writeFileSync(path.join(dirs.RELAY_DIR, 'secret-key'), '');
    const res = init();
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('secret-key exists but is empty');
    expect(read(dirs.RELAY_DIR, 'secret-key')).toBe('');

    const plain = spawnSync('sh', [ENTRY, 'env'], {
      env: { PATH: process.env.PATH, RELAY_SECRETS_ROLE: 'backend' },
      encoding: 'utf8',
    });
    expect(plain.status).toBe(0);
    expect(plain.stdout).not.toMatch(/RELAY_MASTER_KEY|REDIS_URL|RELAY_SECRET_KEY/);
  });
});

describe('compose secrets of the ha profile (RABBITMQ_ADDRESSES, SENTINEL_MONITOR)', () => {
  const HA = {
    RABBITMQ_ADDRESSES: 'rabbitmq-ha-1:5672,rabbitmq-ha-2:5672,rabbitmq-ha-3:5672',
    SENTINEL_MONITOR: 'relay-ha redis-ha-1 6379 2',
  };
  const HA_FILES = ['rabbitmq-urls', 'sentinel-password', 'erlang-cookie', 'sentinel.conf'];
  const files = (d: string) => (existsSync(d) ? readdirSync(d) : []);

  it('makes a cookie, a Sentinel password and one URL per node once, owner-only; replication credentials in redis.conf', () => {
    expect(init(HA).status).toBe(0);
    const { RELAY_DIR, REDIS_DIR, RABBITMQ_DIR } = dirs;
    const redisPassword = read(RELAY_DIR, 'redis-password');
    const rabbitPassword = read(RELAY_DIR, 'rabbitmq-password');
    const cookie = read(RABBITMQ_DIR, 'erlang-cookie');
    const sentinelPassword = read(RELAY_DIR, 'sentinel-password');
    expect(cookie).toMatch(/^[0-9a-f]{64}$/);
    expect(sentinelPassword).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([cookie, sentinelPassword, redisPassword, rabbitPassword]).size).toBe(4);
    expect(read(RELAY_DIR, 'rabbitmq-urls')).toBe(
      [1, 2, 3].map((n) => `amqp://relay:${rabbitPassword}@rabbitmq-ha-${n}:5672`).join(','),
    );
    expect(read(REDIS_DIR, 'redis.conf')).toBe(
      `user default off\nuser relay on >${redisPassword} ~* &* +@all\nmasteruser relay\nmasterauth ${redisPassword}`,
    );
    expect(read(REDIS_DIR, 'sentinel-password')).toBe(sentinelPassword);
    const sentinel = read(REDIS_DIR, 'sentinel.conf').split('\n');
    expect(sentinel).toEqual(
      expect.arrayContaining([
        `requirepass ${sentinelPassword}`,
        `sentinel sentinel-pass ${sentinelPassword}`,
        'sentinel monitor relay-ha redis-ha-1 6379 2',
        'sentinel auth-user relay-ha relay',
        `sentinel auth-pass relay-ha ${redisPassword}`,
      ]),
    );
    // Host names must resolve before `sentinel monitor` names one.
    expect(sentinel.indexOf('sentinel resolve-hostnames yes')).toBeLessThan(
      sentinel.indexOf('sentinel monitor relay-ha redis-ha-1 6379 2'),
    );
    for (const [d, f] of [
      [RABBITMQ_DIR, 'erlang-cookie'],
      [RELAY_DIR, 'rabbitmq-urls'],
      [RELAY_DIR, 'sentinel-password'],
      [REDIS_DIR, 'sentinel.conf'],
    ] as const) {
      expect(statSync(path.join(d, f)).mode & 0o077, f).toBe(0);
    }
    // The RabbitMQ volume holds no Redis secret, the Redis one no RabbitMQ secret.
    expect(
      files(RABBITMQ_DIR)
        .map((f) => read(RABBITMQ_DIR, f))
        .join('\n'),
    ).not.toContain(redisPassword);
    expect(
      files(REDIS_DIR)
        .map((f) => read(REDIS_DIR, f))
        .join('\n'),
    ).not.toContain(cookie);

    // A second start changes no secret: a new cookie would split the cluster.
    expect(init(HA).status).toBe(0);
    expect(read(RABBITMQ_DIR, 'erlang-cookie')).toBe(cookie);
    expect(read(RELAY_DIR, 'sentinel-password')).toBe(sentinelPassword);
  });

  it('the default deployment gets none of these files, and a malformed SENTINEL_MONITOR is refused', () => {
    expect(init().status).toBe(0);
    const all = [dirs.RELAY_DIR, dirs.REDIS_DIR, dirs.RABBITMQ_DIR].flatMap(files);
    expect(all.filter((f) => HA_FILES.includes(f))).toEqual([]);
    const res = init({ SENTINEL_MONITOR: 'relay-ha redis-ha-1' });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('SENTINEL_MONITOR');
  });

  it('the entrypoint fills RABBITMQ_URLS and the Sentinel password, and REDIS_PASSWORD only for Sentinel or Cluster', () => {
    expect(init(HA).status).toBe(0);
    const { RELAY_DIR } = dirs;
    const sentinels = entry({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'relay-ha' });
    expect(sentinels.vars.RABBITMQ_URLS).toBe(read(RELAY_DIR, 'rabbitmq-urls'));
    expect(sentinels.vars.REDIS_PASSWORD).toBe(read(RELAY_DIR, 'redis-password'));
    expect(sentinels.vars.REDIS_SENTINEL_PASSWORD).toBe(read(RELAY_DIR, 'sentinel-password'));
    expect(sentinels.stderr).toBe('');
    expect(entry({ REDIS_CLUSTER_NODES: 'n1:6379' }).vars.REDIS_PASSWORD).toBe(read(RELAY_DIR, 'redis-password'));
    // A single Redis takes its password from REDIS_URL only, as before.
    expect(entry({}).vars.REDIS_PASSWORD).toBeUndefined();
    // Given values win.
    expect(entry({ RABBITMQ_URLS: 'amqp://own:1@a:5672' }).vars.RABBITMQ_URLS).toBe('amqp://own:1@a:5672');
  });

  it('the entrypoint of the default deployment sets none of the ha settings', () => {
    expect(init().status).toBe(0);
    const { vars } = entry({ RELAY_SECRETS_ROLE: 'backend' });
    expect(Object.keys(vars).filter((k) => /RABBITMQ_URLS|REDIS_PASSWORD|REDIS_SENTINEL/.test(k))).toEqual([]);
  });
});

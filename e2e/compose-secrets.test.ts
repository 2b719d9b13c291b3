import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

/**
 * docker/init-secrets.sh and docker/entrypoint.sh, run with the host's sh in a
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

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * The compose deployment's Redis, on this machine: the ACL that
 * docker/init-secrets.sh generates, fed to a real redis-server on stdin the
 * way docker-compose.yml does, on a loopback port of its own. Without the
 * generated password nothing gets in; with the URL docker/entrypoint.sh
 * derives, relay runs a job end to end (Lua scripts, indexes, rate limits).
 * No Docker engine runs here, so this is the part of the compose file that
 * can be run for real.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let dir: string;
let port: number;
let server: ChildProcess;
let redisUrl: string;
let stack: Stack | undefined;
const target = new TestServer();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'relay-compose-redis-'));
  port = await freePort();
  const dirs = {
    RELAY_DIR: path.join(dir, 'relay'),
    REDIS_DIR: path.join(dir, 'redis'),
    RABBITMQ_DIR: path.join(dir, 'rabbitmq'),
  };
  const init = spawnSync('sh', [path.join(ROOT, 'docker/init-secrets.sh')], {
    env: { PATH: process.env.PATH, ...dirs, REDIS_ADDRESS: `127.0.0.1:${port}` },
    encoding: 'utf8',
  });
  expect(init.status, init.stderr).toBe(0);
  redisUrl = readFileSync(path.join(dirs.RELAY_DIR, 'redis-url'), 'utf8').trim();
  // As docker-compose.yml starts it: the ACL on stdin (`-`, last).
  server = spawn(
    'sh',
    [
      '-c',
      `exec redis-server --bind 127.0.0.1 --port ${port} --save '' --appendonly no --dir '${dir}' ` +
        `--hash-max-listpack-value 512 - < '${path.join(dirs.REDIS_DIR, 'redis.conf')}'`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor(
    () =>
      new Promise<true | undefined>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(undefined));
      }),
    10_000,
    'the ACL redis-server to listen',
  );
  await target.listen();
});

afterAll(async () => {
  await stack?.stop();
  server?.kill('SIGKILL');
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("compose's Redis ACL (docker/init-secrets.sh)", () => {
  it('lets nobody in without the generated password', async () => {
    const anonymous = new Redis({
      port,
      host: '127.0.0.1',
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableReadyCheck: false,
      lazyConnect: true,
    });
    anonymous.on('error', () => undefined);
    await anonymous.connect();
    await expect(anonymous.get('anything')).rejects.toThrow(/NOAUTH/);
    await expect(anonymous.call('AUTH', 'relay', 'not-the-password')).rejects.toThrow(/WRONGPASS/);
    // The default user is off, whatever password is tried.
    await expect(anonymous.call('AUTH', 'default', '')).rejects.toThrow(/WRONGPASS/);
    const password = decodeURIComponent(new URL(redisUrl).password);
    expect(await anonymous.call('AUTH', 'relay', password)).toBe('OK');
    anonymous.disconnect();
  });

  it('lets relay run a job end to end with the URL the entrypoint derives', async () => {
    stack = await startStack('compose-acl', { workers: 1, env: { REDIS_URL: redisUrl } });
    target.on('/acl', (_req, res) => reply(res, 200));
    const id = await stack.api.submitOk({ targetUrl: target.url('/acl'), metadata: { via: 'acl' } });
    expect(await stack.api.waitFinal(id)).toMatchObject({ status: 'completed', attempts: 1 });
    const listed = await stack.api.send('GET', '/api/jobs?metadata.via=acl');
    expect(listed.status).toBe(200);
    expect(listed.body.jobs.map((j: { jobId: string }) => j.jobId)).toEqual([id]);
    // The job lives in the ACL server, not in the shared one.
    const own = new Redis(redisUrl);
    try {
      expect((await own.keys(`${stack.prefix}:*`)).length).toBeGreaterThan(0);
    } finally {
      own.disconnect();
    }
  });
});

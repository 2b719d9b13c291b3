import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, TestServer } from './support/http-servers.js';
import { buildCompiled, REPO_ROOT, startBackend, startWorker, type RelayProcess } from './support/processes.js';
import { RelayClient } from './support/relay-client.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from './support/services.js';

/**
 * The production path: `pnpm build`, then the backend and the worker started
 * as `node dist/...js` (what the image runs), one job end to end with its
 * callback. Every other e2e file runs the sources through tsx.
 */
const prefix = randomPrefix('compiled');
const env = { RELAY_PREFIX: prefix, RABBITMQ_URL, REDIS_URL, LOG_LEVEL: 'info' };
let backend: RelayProcess | undefined;
let worker: RelayProcess | undefined;
let api: RelayClient;
const target = new TestServer();
const callbacks = new TestServer();

/** A clean `tsc -b` of all packages takes seconds alone and much longer on a loaded machine. */
const BUILD_TIMEOUT_MS = 180_000;

beforeAll(async () => {
  await Promise.all([buildCompiled(), target.listen(), callbacks.listen()]);
  const started = await startBackend(env, 'compiled');
  backend = started.proc;
  api = new RelayClient(started.baseUrl);
  worker = await startWorker(env, 'compiled');
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([backend?.stop(), worker?.stop()]);
  await Promise.all([target.close(), callbacks.close()]);
  await cleanup(prefix);
});

/** Paths of the files under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('compiled processes', () => {
  it('run from dist/ with node, not from the sources', () => {
    expect(backend!.child.spawnargs.slice(1)).toEqual(['packages/backend/dist/server.js']);
    expect(worker!.child.spawnargs.slice(1)).toEqual(['packages/worker/dist/main.js']);
  });

  it('find every non-TypeScript file of src/ at the same path in dist/', () => {
    for (const pkg of readdirSync(path.join(REPO_ROOT, 'packages'))) {
      const root = path.join(REPO_ROOT, 'packages', pkg);
      if (!existsSync(path.join(root, 'tsconfig.json'))) continue;
      // A package bundled by Vite (the console) has no file-for-file dist/: its assets are hashed bundles.
      if (existsSync(path.join(root, 'vite.config.ts'))) continue;
      const assets = filesUnder(path.join(root, 'src')).filter((f) => !/\.[cm]?tsx?$/.test(f));
      for (const asset of assets) expect(existsSync(path.join(root, 'dist', asset)), `${pkg}/dist/${asset}`).toBe(true);
    }
  });

  it('run a job end to end and post its callback', async () => {
    target.on('/compiled', (_req, res) => reply(res, 200, '{"built":true}', { 'content-type': 'application/json' }));
    const jobId = await api.submitOk({
      targetUrl: target.url('/compiled'),
      method: 'POST',
      payload: { from: 'dist' },
      callbackUrl: callbacks.url('/cb-compiled'),
    });
    const job = await api.waitFinal(jobId, 15_000, { callback: true });

    expect(job.status).toBe('completed');
    expect(job.attempts).toBe(1);
    expect(job.callback).toMatchObject({ status: 'delivered', statusCode: 200, attempts: 1 });
    expect(JSON.parse(target.requests('/compiled')[0]!.body)).toEqual({ from: 'dist' });
    const cbs = callbacks.requests('/cb-compiled');
    expect(cbs).toHaveLength(1);
    expect(JSON.parse(cbs[0]!.body)).toMatchObject({
      jobId,
      status: 'completed',
      success: true,
      response: { statusCode: 200, body: { built: true } },
    });
  });
});

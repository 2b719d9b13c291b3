import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, queueNames } from '@relay/common';
import { buildApp } from '../../src/app.js';
import { loadBackendConfig } from '../../src/config.js';
import { CONSOLE_CSP } from '../../src/routes/console/static.js';

/**
 * /console of the real app, from a temporary dist directory (an index.html
 * and a hashed asset), and from one without a build.
 */

const prefix = `t-console-static-${randomBytes(4).toString('hex')}`;
const dist = mkdtempSync(join(tmpdir(), 'relay-console-dist-'));
const empty = mkdtempSync(join(tmpdir(), 'relay-console-empty-'));
const INDEX =
  '<!doctype html><title>relay console</title><script type="module" src="/console/assets/app-abc123.js"></script>';
mkdirSync(join(dist, 'assets'));
writeFileSync(join(dist, 'index.html'), INDEX);
writeFileSync(join(dist, 'assets', 'app-abc123.js'), 'console.log("hi")');

const env = { RELAY_PREFIX: prefix, LOG_LEVEL: 'silent', RELAY_MASTER_KEY: randomBytes(32).toString('base64') };
const log = createLogger({ name: 'console-static-test', level: 'silent' });
let built: Awaited<ReturnType<typeof buildApp>>;
let notBuilt: Awaited<ReturnType<typeof buildApp>>;

beforeAll(async () => {
  built = await buildApp({ config: loadBackendConfig({ ...env, CONSOLE_DIST_DIR: dist }), log });
  notBuilt = await buildApp({ config: loadBackendConfig({ ...env, CONSOLE_DIST_DIR: empty }), log });
});

afterAll(async () => {
  await built?.close();
  await notBuilt?.close();
  rmSync(dist, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
  const conn = await amqp.connect(loadBackendConfig(env).rabbitmqUrl);
  try {
    // Every queue and exchange the backend declared, by the names the code builds.
    const ch = await conn.createChannel();
    const names = queueNames(prefix);
    for (const name of names.allQueues()) await ch.deleteQueue(name);
    await ch.deleteExchange(names.deadLetterExchange);
    if (names.dueExchange) await ch.deleteExchange(names.dueExchange);
  } finally {
    await conn.close();
  }
});

describe('/console', () => {
  it('serves index.html at /console and /console/ with the strict CSP', async () => {
    for (const url of ['/console', '/console/']) {
      const res = await built.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves assets, cached for good since their names carry a hash', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/assets/app-abc123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  });

  it('answers deep links with index.html, so the app routes them', async () => {
    for (const url of [
      '/console/jobs/0b8a4c1e-1c1f-4a8e-9f53-2b9f1d1f0a11',
      '/console/jobs?status=failed&metadata.order=42',
    ]) {
      const res = await built.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toBe(INDEX);
      expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
    }
  });

  it('answers a missing asset with a 404, not the page', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/assets/gone-000.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('RELAY_ERR_NOT_FOUND');
  });

  it('does not serve files outside the dist directory', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/../package.json' });
    expect(res.body).not.toContain('"name"');
  });

  it('answers 503 RELAY_ERR_CONSOLE_NOT_BUILT, saying to run pnpm build, when there is no build', async () => {
    for (const url of ['/console', '/console/', '/console/jobs/x', '/console/assets/app.js']) {
      const res = await notBuilt.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(503);
      expect(res.json()).toMatchObject({ code: 'RELAY_ERR_CONSOLE_NOT_BUILT' });
      expect(res.json().message).toContain('pnpm build');
    }
  });

  it('leaves the API untouched', async () => {
    const res = await built.inject({ method: 'GET', url: '/api/nothing-here' });
    expect(res.headers['content-security-policy']).toBeUndefined();
  });
});

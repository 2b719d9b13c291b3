import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { DEAD_LETTER_MAX_MESSAGES, DEAD_LETTER_RETENTION_MS, queueNames } from '@relay/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResponse, RelayClient } from './support/relay-client.js';
import { RABBITMQ_URL } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Per-application quotas (docs/api.md, "Quotas"): set by the master key,
 * enforced on POST /api/jobs. No worker runs, so every accepted job stays
 * queued (unfinished) and nothing is sent anywhere.
 */
let stack: Stack;
let master: RelayClient;
const masterKey = randomBytes(32).toString('base64');
const job = { targetUrl: 'http://127.0.0.1:9/never-called' };
const deadLetterMaxBytes = 1_048_576;

beforeAll(async () => {
  stack = await startStack('quotas', {
    workers: 0,
    env: {
      RELAY_AUTH: 'on',
      RELAY_MASTER_KEY: masterKey,
      DEAD_LETTER_MAX_BYTES: String(deadLetterMaxBytes),
    },
  });
  master = stack.api.withKey(masterKey);
});

afterAll(async () => {
  await stack?.stop();
});

async function createApplication(extra: Record<string, unknown> = {}): Promise<{ id: string; api: RelayClient }> {
  const res = await master.json('POST', '/api/applications', { name: 'quota test', ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: res.body.id, api: stack.api.withKey(res.body.apiKey) };
}

function expectRefusal(res: ApiResponse, status: number, code: string, ...inMessage: string[]): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toContain('application/json');
  expect(res.body).toMatchObject({ statusCode: status, code });
  for (const text of inMessage) expect(res.body.message).toContain(text);
}

describe('quotas', () => {
  it('shows the server defaults as null on a new application', async () => {
    const res = await master.json('POST', '/api/applications', { name: 'defaults' });
    expect(res.body.quotas).toEqual({ maxUnfinishedJobs: null, maxStoredBytes: null, maxPriority: null });
  });

  it('refuses a job past maxUnfinishedJobs with 429 and takes one again after a cancel', async () => {
    const { id, api } = await createApplication();
    const patched = await master.json('PATCH', `/api/applications/${id}`, { quotas: { maxUnfinishedJobs: 2 } });
    expect(patched.status).toBe(200);
    expect(patched.body.quotas).toEqual({ maxUnfinishedJobs: 2, maxStoredBytes: null, maxPriority: null });

    const first = await api.submitOk(job);
    await api.submitOk(job);
    const refused = await api.submit(job);
    expectRefusal(refused, 429, 'RELAY_ERR_QUOTA_EXCEEDED', 'maxUnfinishedJobs', 'at most 2');
    expect(refused.headers['retry-after']).toBe('1');
    // The refused job was not stored: the application still lists two.
    expect((await api.send('GET', '/api/jobs')).body.jobs).toHaveLength(2);

    expect((await api.send('DELETE', `/api/job/${first}`)).status).toBe(200);
    await api.submitOk(job);
  });

  it('refuses a job past maxStoredBytes with 429 naming the byte limit', async () => {
    const { api } = await createApplication({ quotas: { maxStoredBytes: 8192 } });
    const big = { ...job, payload: 'x'.repeat(2500) };
    await api.submitOk(big);
    await api.submitOk(big);
    expectRefusal(await api.submit(big), 429, 'RELAY_ERR_QUOTA_EXCEEDED', 'maxStoredBytes', 'limit of 8192 bytes');
  });

  it('refuses high priority until the master key grants it; an application key cannot grant it', async () => {
    const { id, api } = await createApplication();
    expectRefusal(
      await api.submit({ ...job, priority: 'high' }),
      403,
      'RELAY_ERR_PRIORITY_NOT_ALLOWED',
      'maxPriority',
      "up to 'normal', not 'high'",
    );
    await api.submitOk({ ...job, priority: 'normal' });
    await api.submitOk({ ...job, priority: 'low' });

    // The application's own key may not change its quotas.
    expectRefusal(
      await api.json('PATCH', `/api/applications/${id}`, { quotas: { maxPriority: 'high' } }),
      403,
      'RELAY_ERR_FORBIDDEN',
    );
    expectRefusal(await api.submit({ ...job, priority: 'high' }), 403, 'RELAY_ERR_PRIORITY_NOT_ALLOWED');

    const granted = await master.json('PATCH', `/api/applications/${id}`, { quotas: { maxPriority: 'high' } });
    expect(granted.body.quotas.maxPriority).toBe('high');
    await api.submitOk({ ...job, priority: 'high' });

    const lowered = await master.json('PATCH', `/api/applications/${id}`, { quotas: { maxPriority: 'low' } });
    expect(lowered.status).toBe(200);
    expectRefusal(await api.submit(job), 403, 'RELAY_ERR_PRIORITY_NOT_ALLOWED', "up to 'low', not 'normal'");
  });

  it('refuses quota values out of range or unknown with 400', async () => {
    const { id } = await createApplication();
    for (const quotas of [
      { maxUnfinishedJobs: 0 },
      { maxStoredBytes: 10 },
      { maxPriority: 'urgent' },
      { maxJobs: 5 },
      {},
    ]) {
      const res = await master.json('PATCH', `/api/applications/${id}`, { quotas });
      expectRefusal(res, 400, 'RELAY_ERR_VALIDATION');
    }
  });
});

describe('dead-letter archive', () => {
  it('is capped by bytes with DEAD_LETTER_MAX_BYTES (a redeclaration without the cap is refused)', async () => {
    const conn = await amqp.connect(RABBITMQ_URL);
    try {
      const queue = queueNames(stack.prefix).deadLetters;
      const args = {
        // The stack runs the default queue type (quorum): its archive is a quorum queue.
        'x-queue-type': 'quorum',
        'x-message-ttl': DEAD_LETTER_RETENTION_MS,
        'x-max-length': DEAD_LETTER_MAX_MESSAGES,
        'x-overflow': 'drop-head',
      };
      const same = await conn.createChannel();
      await same.assertQueue(queue, {
        durable: true,
        arguments: { ...args, 'x-max-length-bytes': deadLetterMaxBytes },
      });
      await same.close();
      const without = await conn.createChannel();
      without.on('error', () => undefined);
      await expect(without.assertQueue(queue, { durable: true, arguments: args })).rejects.toThrow(
        /PRECONDITION_FAILED/,
      );
    } finally {
      await conn.close().catch(() => undefined);
    }
  });
});

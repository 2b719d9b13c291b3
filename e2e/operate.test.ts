import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNames } from '@relay/common';
import { reply, TestServer } from './support/http-servers.js';
import { RABBITMQ_URL, waitFor } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';

/** Find, inspect, cancel and replay jobs; dead letters; request ids and traces. */
let stack: Stack;
const target = new TestServer();
const callbacks = new TestServer();
const secretKey = randomBytes(32).toString('base64');

beforeAll(async () => {
  await Promise.all([target.listen(), callbacks.listen()]);
  stack = await startStack('operate', { env: { CALLBACK_RETRY_DELAY_MS: '200', RELAY_SECRET_KEY: secretKey } });
});

afterAll(async () => {
  await stack?.stop();
  await Promise.all([target.close(), callbacks.close()]);
});

async function waitStatus(jobId: string, status: string): Promise<any> {
  return waitFor(
    async () => {
      const job = (await stack.api.job(jobId)).body;
      return job.status === status ? job : undefined;
    },
    10_000,
    `job ${jobId} to be ${status}`,
  );
}

describe('list and search', () => {
  it('filters by status, metadata, host and creation time, newest first, with cursor pagination', async () => {
    const run = randomBytes(4).toString('hex');
    target.on('/list-ok', (_req, res) => reply(res, 200));
    target.on('/list-bad', (_req, res) => reply(res, 400));
    const okIds: string[] = [];
    for (let i = 0; i < 7; i++) {
      okIds.push(
        await stack.api.submitOk({ targetUrl: target.url('/list-ok'), metadata: { run, kind: 'ok', n: String(i) } }),
      );
    }
    const badId = await stack.api.submitOk({ targetUrl: target.url('/list-bad'), metadata: { run, kind: 'bad' } });
    await Promise.all([...okIds, badId].map((id) => stack.api.waitFinal(id)));

    // All 8 of this run, newest first, in pages of 3.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q = `/api/jobs?metadata.run=${run}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await stack.api.send('GET', q);
      expect(res.status).toBe(200);
      expect(res.body.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.jobs.map((j: any) => j.jobId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual([badId, ...[...okIds].reverse()]);
    expect(pages).toBe(3);

    const failed = await stack.api.send('GET', `/api/jobs?metadata.run=${run}&status=failed`);
    expect(failed.body.jobs.map((j: any) => j.jobId)).toEqual([badId]);
    expect(failed.body.jobs[0]).toMatchObject({ status: 'failed', lastStatusCode: 400, metadata: { kind: 'bad' } });

    const both = await stack.api.send('GET', `/api/jobs?metadata.run=${run}&status=failed&status=completed&limit=500`);
    expect(both.body.jobs).toHaveLength(8);

    const two = await stack.api.send('GET', `/api/jobs?metadata.run=${run}&metadata.kind=ok&metadata.n=2`);
    expect(two.body.jobs.map((j: any) => j.jobId)).toEqual([okIds[2]]);

    const byHost = await stack.api.send('GET', `/api/jobs?targetHost=127.0.0.1&metadata.run=${run}&limit=500`);
    expect(byHost.body.jobs).toHaveLength(8);
    const otherHost = await stack.api.send('GET', `/api/jobs?targetHost=other.test&metadata.run=${run}`);
    expect(otherHost.body.jobs).toHaveLength(0);

    const mid = (await stack.api.job(okIds[3]!)).body.createdAt;
    const after = await stack.api.send('GET', `/api/jobs?metadata.run=${run}&createdAfter=${mid}&limit=500`);
    expect(after.body.jobs.map((j: any) => j.jobId)).toEqual([badId, okIds[6], okIds[5], okIds[4], okIds[3]]);
    const before = await stack.api.send('GET', `/api/jobs?metadata.run=${run}&createdBefore=${mid}&limit=500`);
    expect(before.body.jobs.map((j: any) => j.jobId)).toEqual([okIds[3], okIds[2], okIds[1], okIds[0]]);
  });

  it('rejects a bad filter or cursor with 400 naming it', async () => {
    const res = await stack.api.send('GET', '/api/jobs?status=sleeping&limit=501&colour=red&cursor=zzz');
    expect(res.status).toBe(400);
    const paths = res.body.details.map((d: any) => d.path);
    expect(paths).toEqual(
      expect.arrayContaining(['/querystring/status/0', '/querystring/limit', '/querystring/colour']),
    );
    const cur = await stack.api.send('GET', '/api/jobs?cursor=not-a-cursor');
    expect(cur.status).toBe(400);
    expect(cur.body.code).toBe('RELAY_ERR_INVALID_CURSOR');
  });

  it('pages through a long attempt log', async () => {
    target.on('/five', (_req, res) => reply(res, 503));
    const id = await stack.api.submitOk({ targetUrl: target.url('/five'), maxRetries: 4, retryDelay: 100 });
    await stack.api.waitFinal(id, 20_000);
    const page = await stack.api.send('GET', `/api/job/${id}/attempts?offset=1&limit=2`);
    expect(page.status).toBe(200);
    expect(page.body.total).toBe(5);
    expect(page.body.attempts.map((a: any) => a.attempt)).toEqual([2, 3]);
    expect(page.body.nextOffset).toBe(3);
    const last = await stack.api.send('GET', `/api/job/${id}/attempts?offset=3&limit=10`);
    expect(last.body.attempts.map((a: any) => a.attempt)).toEqual([4, 5]);
    expect(last.body.nextOffset).toBeNull();
  });
});

describe('cancel', () => {
  it('cancels a retrying job: no further attempt, status cancelled, callback reports cancelled', async () => {
    target.on('/cancel-me', (_req, res) => reply(res, 503));
    const id = await stack.api.submitOk({
      targetUrl: target.url('/cancel-me'),
      retryDelay: 800,
      callbackUrl: callbacks.url('/cb-cancel'),
    });
    await waitStatus(id, 'retrying');
    const res = await stack.api.send('POST', `/api/job/${id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jobId: id, status: 'cancelled' });

    await waitFor(() => callbacks.requests('/cb-cancel').length === 1, 10_000, 'the cancel callback');
    expect(JSON.parse(callbacks.requests('/cb-cancel')[0]!.body)).toMatchObject({
      jobId: id,
      status: 'cancelled',
      success: false,
    });
    await new Promise((r) => setTimeout(r, 1500)); // past the retry that was due
    expect(target.requests('/cancel-me')).toHaveLength(1);
    const job = (await stack.api.job(id)).body;
    expect(job).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(job.callback.status).toBe('delivered');

    const again = await stack.api.send('DELETE', `/api/job/${id}`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RELAY_ERR_JOB_FINISHED');
    expect(again.body.message).toContain('cancelled');
  });

  it('a job cancelled while its attempt runs ends cancelled after that attempt', async () => {
    target.on('/slow-fail', (_req, res) => setTimeout(() => reply(res, 503), 600));
    const id = await stack.api.submitOk({ targetUrl: target.url('/slow-fail'), retryDelay: 100 });
    await waitStatus(id, 'in_progress');
    const res = await stack.api.send('DELETE', `/api/job/${id}`);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ jobId: id, status: 'in_progress', cancelRequested: true });
    const job = await waitStatus(id, 'cancelled');
    expect(job.attempts).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(target.requests('/slow-fail')).toHaveLength(1);
  });

  it('cancelling a finished job is a 409 naming its status; an unknown one a 404', async () => {
    const id = await stack.api.submitOk({ targetUrl: target.url('/done') });
    await stack.api.waitFinal(id);
    const res = await stack.api.send('POST', `/api/job/${id}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.details).toEqual([{ path: '/status', message: 'completed' }]);
    const missing = await stack.api.send('POST', '/api/job/6f1c1b4e-8d0a-4a53-9d55-3f1f5a0e2b7c/cancel');
    expect(missing.status).toBe(404);
  });
});

describe('dead letters and replay', () => {
  it('dead-letters a failed job on RabbitMQ and lists it; replay runs a new series under the same id', async () => {
    let healthy = false;
    target.on('/flip', (req, res) => {
      expect(req.headers.authorization).toBe('Bearer dead-letter-secret');
      reply(res, healthy ? 200 : 500);
    });
    const id = await stack.api.submitOk({
      targetUrl: target.url('/flip'),
      headers: { Authorization: 'Bearer dead-letter-secret' },
      maxRetries: 1,
      retryDelay: 100,
      metadata: { case: 'replay' },
    });
    const failed = await stack.api.waitFinal(id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 2 });
    expect(failed.deadLetteredAt).not.toBeNull();

    const list = await stack.api.send('GET', '/api/dead-letters?metadata.case=replay');
    expect(list.body.deadLetters.map((j: any) => j.jobId)).toEqual([id]);

    // The broker holds the dead letter with the reason.
    const conn = await amqp.connect(RABBITMQ_URL);
    try {
      const ch = await conn.createChannel();
      const q = queueNames(stack.prefix).deadLetters;
      // Earlier tests dead-lettered other jobs: read the archive until ours.
      const got = await waitFor(
        async () => {
          const m = await ch.get(q, { noAck: true });
          return m && JSON.parse(m.content.toString()).jobId === id ? m : undefined;
        },
        5000,
        'our dead letter in the archive',
      );
      expect(got.properties.headers?.['x-relay-reason']).toBe('RELAY_ERR_HTTP_STATUS');
    } finally {
      await conn.close();
    }

    healthy = true;
    const replay = await stack.api.send('POST', `/api/job/${id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.headers.location).toBe(`/api/job/${id}`);
    const done = await stack.api.waitFinal(id);
    expect(done).toMatchObject({ status: 'completed', attempts: 3, replays: 1, deadLetteredAt: null });
    expect(done.attemptsLog.map((a: any) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    const after = await stack.api.send('GET', '/api/dead-letters?metadata.case=replay');
    expect(after.body.deadLetters).toHaveLength(0);

    const completedReplay = await stack.api.send('POST', `/api/job/${id}/replay`);
    expect(completedReplay.status).toBe(409);
    expect(completedReplay.body.code).toBe('RELAY_ERR_JOB_NOT_REPLAYABLE');
  });

  it('refuses to replay a job that is still running', async () => {
    target.on('/running', (_req, res) => reply(res, 503));
    const id = await stack.api.submitOk({ targetUrl: target.url('/running'), retryDelay: 5000 });
    await waitStatus(id, 'retrying');
    const res = await stack.api.send('POST', `/api/job/${id}/replay`);
    expect(res.status).toBe(409);
    expect(res.body.details).toEqual([{ path: '/status', message: 'retrying' }]);
    await stack.api.send('POST', `/api/job/${id}/cancel`);
  });

  it('bulk-replays the dead letters matching a filter, and only those', async () => {
    const batch = randomBytes(4).toString('hex');
    let healthy = false;
    target.on('/bulk', (_req, res) => reply(res, healthy ? 200 : 404));
    const a = await Promise.all(
      [1, 2, 3].map(() => stack.api.submitOk({ targetUrl: target.url('/bulk'), metadata: { batch, group: 'a' } })),
    );
    const b = await stack.api.submitOk({ targetUrl: target.url('/bulk'), metadata: { batch, group: 'b' } });
    await Promise.all([...a, b].map((id) => stack.api.waitFinal(id)));

    healthy = true;
    const res = await stack.api.send(
      'POST',
      '/api/dead-letters/replay',
      JSON.stringify({ metadata: { batch, group: 'a' }, limit: 10 }),
      { 'content-type': 'application/json' },
    );
    expect(res.status).toBe(200);
    expect([...res.body.replayed].sort()).toEqual([...a].sort());
    expect(res.body.failed).toEqual([]);
    const done = await Promise.all(a.map((id) => stack.api.waitFinal(id)));
    expect(done.every((j) => j.status === 'completed' && j.attempts === 2)).toBe(true);
    expect((await stack.api.job(b)).body.status).toBe('failed');
    const left = await stack.api.send('GET', `/api/dead-letters?metadata.batch=${batch}`);
    expect(left.body.deadLetters.map((j: any) => j.jobId)).toEqual([b]);
  });
});

describe('request ids and traces', () => {
  it('echoes x-request-id, records it, logs it in the worker, and sends traceparent to the target', async () => {
    target.on('/traced', (_req, res) => reply(res, 200));
    const requestId = `req-${randomBytes(6).toString('hex')}`;
    const res = await stack.api.send('POST', '/api/jobs', JSON.stringify({ targetUrl: target.url('/traced') }), {
      'content-type': 'application/json',
      'x-request-id': requestId,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(res.status).toBe(202);
    expect(res.headers['x-request-id']).toBe(requestId);
    const job = await stack.api.waitFinal(res.body.jobId);
    expect(job.requestId).toBe(requestId);
    expect(job.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const sent = target.requests('/traced')[0]!;
    expect(sent.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    await waitFor(
      () =>
        stack.workers[0]!.lines.some(
          (l) => l.includes(`"requestId":"${requestId}"`) && l.includes(`"jobId":"${job.jobId}"`),
        ),
      5000,
      'a worker log line with the request id and job id',
    );
  });

  it('generates a request id when none (or a malformed one) is sent', async () => {
    const res = await stack.api.send('GET', '/health', undefined, { 'x-request-id': 'bad id with spaces' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { queueNames, redisKeys } from '@relay/common';
import { reply, TestServer } from '../support/http-servers.js';
import { RABBITMQ_URL, REDIS_URL, waitFor } from '../support/services.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * Poison inputs (issue 11, "Poison limits"). It does not disturb the brokers:
 * run it under the shared lock.
 *
 * - A poison target: it answers with JSON nested 10,000 levels deep, which
 *   relay cannot serialise again. The body is recorded as its text, so the
 *   job fails once, with the target's own error code, after exactly
 *   maxRetries + 1 calls, with one dead letter; a 200 with the same body
 *   completes; a cancel of such a job takes effect. No call or dead letter
 *   follows in a quiet period after the end (the old loop would show there).
 * - A poison submission: a body nested 6,000 deep gets 400
 *   RELAY_ERR_JSON_TOO_DEEP naming where, and nothing is stored.
 * - Forged messages put on the work queue behind relay's back: an attempt
 *   number of 10,000,000 (record-attempt would pad the log up to it) and a
 *   payload nested 10,000 deep are refused by the decoder and dead-lettered
 *   at once; the job's attempt log is untouched.
 */

const DEPTH = 10_000;
const deepJson = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
const MAX_RETRIES = 2;
const QUIET_MS = 8000;

let stack: Stack;
const target = new TestServer();
const redis = new Redis(REDIS_URL);
const started = Date.now();

function progress(text: string): void {
  process.stderr.write(`poison [${((Date.now() - started) / 1000).toFixed(1)} s]: ${text}\n`);
}

beforeAll(async () => {
  target
    .on('/deep-500', (_req, res) => reply(res, 500, deepJson, { 'content-type': 'application/json' }))
    .on('/deep-200', (_req, res) => reply(res, 200, deepJson, { 'content-type': 'application/json' }))
    .on('/deep-cancel', (_req, res) => reply(res, 500, deepJson, { 'content-type': 'application/json' }));
  await target.listen();
  stack = await startStack('fault-poison', { env: { LOG_LEVEL: 'warn' } });
});

afterAll(async () => {
  await stack?.stop();
  await target.close();
  redis.disconnect();
});

interface DeadLetter {
  jobId: string | null;
  reason: string | null;
  rejected: boolean;
}

/** Everything in the prefix's dead-letter archive, read off it. */
async function drainDeadLetters(prefix: string): Promise<DeadLetter[]> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createChannel();
    const out: DeadLetter[] = [];
    for (;;) {
      const m = await ch.get(queueNames(prefix).deadLetters, { noAck: true });
      if (!m) return out;
      const jobId = /"jobId":"([0-9a-f-]{36})"/.exec(m.content.toString('utf8'))?.[1] ?? null;
      const headers = m.properties.headers ?? {};
      out.push({
        jobId,
        reason: (headers['x-relay-reason'] as string | undefined) ?? null,
        rejected: Array.isArray(headers['x-death']),
      });
    }
  } finally {
    await conn.close();
  }
}

async function publishRaw(prefix: string, content: Buffer): Promise<void> {
  const conn = await amqp.connect(RABBITMQ_URL);
  try {
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queueNames(prefix).work, content, { persistent: true });
    await ch.waitForConfirms();
  } finally {
    await conn.close();
  }
}

it('a poison target fails once within maxRetries + 1 calls, a poison submission gets 400, forged messages are refused', async () => {
  const api = stack.api;
  const spec = (path: string, extra: Record<string, unknown> = {}) => ({
    targetUrl: target.url(path),
    method: 'POST',
    payload: { n: 1 },
    maxRetries: MAX_RETRIES,
    retryDelay: 100,
    timeout: 5000,
    ...extra,
  });

  // A poison submission, before any job: nothing may be stored for it.
  const submission = `{"targetUrl":"${target.url('/deep-200')}","payload":${'['.repeat(6000)}${']'.repeat(6000)}}`;
  const refused = await api.send('POST', '/api/jobs', submission, { 'content-type': 'application/json' });
  progress(
    `submission nested 6,000 deep: ${refused.status} ${refused.body.code} at ${String(refused.body.details?.[0]?.path).slice(0, 40)}…`,
  );
  expect(refused.status).toBe(400);
  expect(refused.body.code).toBe('RELAY_ERR_JSON_TOO_DEEP');
  expect(refused.body.details[0].path).toMatch(/^\/body\/payload(\/0)+$/);
  expect(await redis.exists(redisKeys(stack.prefix).indexAll())).toBe(0);

  const failing = await api.submitOk(spec('/deep-500'));
  const completing = await api.submitOk(spec('/deep-200'));
  const cancelled = await api.submitOk(spec('/deep-cancel', { maxRetries: 5, retryDelay: 3000 }));
  const accepted = [failing, completing, cancelled];

  // Cancel once the first attempt is recorded and the job waits for its retry (3 s): a cancel while the attempt
  // still runs is a 202 by design, and the target's call is seen before the worker has recorded it.
  await waitFor(() => target.requests('/deep-cancel').length >= 1, 20_000, 'the first call of the job to cancel');
  await waitFor(
    async () => ((await api.job(cancelled)).body.status === 'retrying' ? true : undefined),
    20_000,
    'the job to cancel to wait for its retry',
  );
  const cancel = await api.send('POST', `/api/job/${cancelled}/cancel`);
  progress(`cancel after the first call: ${cancel.status} ${JSON.stringify(cancel.body)}`);
  expect(cancel.status).toBe(200);

  const failed = await api.waitFinal(failing, 30_000);
  const completed = await api.waitFinal(completing, 30_000);
  const cancelledJob = await waitFor(
    async () => {
      const res = await api.job(cancelled);
      return res.body.status === 'cancelled' ? res.body : undefined;
    },
    30_000,
    'the cancelled job to read cancelled',
  );
  progress(
    `failed job: ${failed.status} ${failed.error?.code} after ${failed.attempts} attempts; ` +
      `completed job: ${completed.status}; cancelled job: ${cancelledJob.status}`,
  );

  // Forged messages for the completed job, straight onto the work queue.
  const attemptsKey = redisKeys(stack.prefix).attempts(completing);
  const logBefore = await redis.llen(attemptsKey);
  const forged = {
    v: 1,
    kind: 'attempt',
    jobId: completing,
    attempt: 10_000_000,
    dueAt: 0,
    createdAt: new Date().toISOString(),
    spec: { ...spec('/deep-200'), headers: {}, priority: 'normal' },
    seriesBase: 0,
    requestId: null,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    application: 'default',
  };
  await publishRaw(stack.prefix, Buffer.from(JSON.stringify(forged)));
  const deepForged = JSON.stringify({ ...forged, attempt: 2, spec: { ...forged.spec, payload: '#' } }).replace(
    '"#"',
    deepJson,
  );
  await publishRaw(stack.prefix, Buffer.from(deepForged));

  // The quiet period: a loop would call the target again or publish more dead letters.
  const callsAtEnd = target.received.length;
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const calls = {
    failing: target.requests('/deep-500').length,
    completing: target.requests('/deep-200').length,
    cancelled: target.requests('/deep-cancel').length,
  };
  const logAfter = await redis.llen(attemptsKey);
  const deadLetters = await drainDeadLetters(stack.prefix);
  const dlFailing = deadLetters.filter((d) => d.jobId === failing);
  const dlForged = deadLetters.filter((d) => d.jobId === completing && d.rejected);
  const storedBody = failed.lastResponse?.body;

  const figures = [
    ['jobs accepted', accepted.length],
    [
      'jobs final',
      [failed, completed, cancelledJob].filter((j) => ['completed', 'failed', 'cancelled'].includes(j.status)).length,
    ],
    ['poison job: status / code', `${failed.status} / ${failed.error?.code}`],
    ['poison job: target calls (max maxRetries + 1)', `${calls.failing} (${MAX_RETRIES + 1})`],
    ['poison job: dead letters', dlFailing.length],
    [
      'poison job: body stored as',
      `${typeof storedBody}, ${String(storedBody).length} chars, content-type ${failed.lastResponse?.headers?.['content-type']}`,
    ],
    ['200 with the same body: status, calls', `${completed.status}, ${calls.completing}`],
    ['cancelled job: status, calls (max 6)', `${cancelledJob.status}, ${calls.cancelled}`],
    ['target calls in the quiet period', target.received.length - callsAtEnd],
    ['forged messages dead-lettered as undecodable', `${dlForged.length} of 2`],
    ['attempt log of the forged job (before / after)', `${logBefore} / ${logAfter}`],
    ['submission 6,000 deep', `${refused.status} ${refused.body.code}`],
  ] as const;
  process.stdout.write(
    `\nPoison inputs\n\n| figure | value |\n|---|---|\n${figures.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n\n`,
  );

  expect(failed).toMatchObject({
    status: 'failed',
    attempts: MAX_RETRIES + 1,
    error: { code: 'RELAY_ERR_HTTP_STATUS' },
  });
  expect(storedBody).toBe(deepJson);
  expect(failed.lastResponse.headers['content-type']).toBe('application/json');
  expect(calls.failing).toBe(MAX_RETRIES + 1);
  expect(dlFailing).toEqual([{ jobId: failing, reason: 'RELAY_ERR_HTTP_STATUS', rejected: false }]);
  expect(completed.status).toBe('completed');
  expect(completed.lastResponse.body).toBe(deepJson);
  expect(calls.completing).toBe(1);
  expect(cancelledJob.status).toBe('cancelled');
  expect(calls.cancelled).toBeLessThanOrEqual(6);
  expect(target.received.length - callsAtEnd).toBe(0);
  expect(dlForged).toHaveLength(2);
  expect(logAfter).toBe(logBefore);
  expect(deadLetters).toHaveLength(3);
});

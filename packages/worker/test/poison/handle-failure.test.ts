import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  attemptMessage,
  createLogger,
  HeaderRedactor,
  JobStore,
  ServiceUnavailableError,
  type WorkMessage,
} from '@relay/common';
import type { WorkerDeps } from '../../src/deps.js';
import { handleFailure } from '../../src/poison/handle-failure.js';
import type { Scheduler } from '../../src/scheduler.js';
import { redisOnRandomPrefix, testSpec } from '../../../common/test/support/store-fixtures.js';

/**
 * The consumer's failure path against the real Redis (random prefix): the
 * count travels in the deferred copy, outages do not count, and the failure
 * that reaches the limit ends the job failed with RELAY_ERR_POISON_MESSAGE
 * and one dead letter. The broker side is a recording fake here; the fault
 * scenario (e2e/faults/poison.fault.ts) runs it on RabbitMQ.
 */

const { prefix, redis } = redisOnRandomPrefix('poison');
const store = new JobStore(redis, { prefix, ttlSeconds: 600 });
const log = createLogger({ name: 'test', level: 'silent' });
const options = { maxFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000 };

const spec = testSpec();

function setUp() {
  const scheduled: WorkMessage[] = [];
  const deadLetters: { jobId: string; reason: string }[] = [];
  const scheduler = {
    schedule: async (m: WorkMessage) => void scheduled.push(m),
    deadLetter: async (m: WorkMessage, reason: string) => void deadLetters.push({ jobId: m.jobId, reason }),
  } as unknown as Scheduler;
  let clock = 1_000_000;
  const deps = {
    store,
    scheduler,
    redactor: new HeaderRedactor(),
    random: () => 0,
    now: () => clock,
  } as unknown as WorkerDeps;
  return { deps, scheduled, deadLetters, tick: (ms: number) => (clock += ms) };
}

async function runningJob(): Promise<WorkMessage> {
  const jobId = randomUUID();
  const createdAt = new Date();
  await store.create({ jobId, spec, createdAt, requestId: null, traceId: 't' });
  await store.beginAttempt(jobId, 1, { token: 'held', ms: 60_000 });
  return attemptMessage({
    jobId,
    spec,
    createdAt: createdAt.toISOString(),
    requestId: null,
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    application: 'default',
  });
}

describe('handleFailure', () => {
  it('counts a deterministic failure in the deferred copy, doubling the wait, and ends the job at the limit', async () => {
    const { deps, scheduled, deadLetters } = setUp();
    let message = await runningJob();
    const delays: number[] = [];
    for (let i = 1; i < options.maxFailures; i++) {
      const copy = await handleFailure(deps, message, new RangeError('Maximum call stack size exceeded'), options, log);
      expect(copy?.failures).toEqual({ step: 1, count: i });
      delays.push(copy!.dueAt - deps.now());
      message = copy!;
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(deadLetters).toEqual([]);

    expect(await handleFailure(deps, message, new TypeError('boom'), options, log)).toBeNull();
    expect(deadLetters).toEqual([{ jobId: message.jobId, reason: 'RELAY_ERR_POISON_MESSAGE' }]);
    expect(scheduled).toHaveLength(options.maxFailures - 1);
    const job = await store.get(message.jobId);
    expect(job).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'RELAY_ERR_POISON_MESSAGE' } });
    expect(job?.deadLetteredAt).not.toBeNull();

    // Another copy that turns poison later finds the job ended: nothing more is published.
    expect(await handleFailure(deps, message, new TypeError('boom'), options, log)).toBeNull();
    expect(deadLetters).toHaveLength(1);
  });

  it('does not count an outage, however often it happens', async () => {
    const { deps, deadLetters } = setUp();
    let message = await runningJob();
    for (let i = 0; i < 20; i++) {
      const outage = new ServiceUnavailableError('Redis', new Error('Connection is closed.'));
      const copy = await handleFailure(deps, message, outage, options, log);
      expect(copy?.failures).toBeUndefined();
      expect(copy!.dueAt - deps.now()).toBe(1000);
      message = copy!;
    }
    expect(deadLetters).toEqual([]);
    expect((await store.get(message.jobId))?.status).toBe('in_progress');
  });

  it('ends a job cancelled while its message kept failing as cancelled, with no dead letter', async () => {
    const { deps, deadLetters } = setUp();
    const message = await runningJob();
    expect(await store.cancel(message.jobId, null)).toEqual({ outcome: 'requested' });
    const last = { ...message, failures: { step: 1, count: options.maxFailures - 1 } };
    expect(await handleFailure(deps, last, new TypeError('boom'), options, log)).toBeNull();
    expect(deadLetters).toEqual([]);
    expect((await store.get(message.jobId))?.status).toBe('cancelled');
  });
});

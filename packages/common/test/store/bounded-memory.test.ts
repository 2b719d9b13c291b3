import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Attempt, JobSpec } from '../../src/job-schema.js';
import { pendingCallback } from '../../src/store/callback-state.js';
import { checkEvictionPolicy, judgeEvictionPolicy } from '../../src/store/eviction-policy.js';
import { IndexRefreshGate } from '../../src/store/index-refresh.js';
import { JobStore } from '../../src/store/job-store.js';
import { toSummary } from '../../src/store/job-views.js';
import { redisOnRandomPrefix, testSpec, attemptEntry } from '../support/store-fixtures.js';

/** Bounded memory: index trimming, the attempt-log cap, TTL refreshes, listing without specs, the noeviction check. */
const { prefix, redis } = redisOnRandomPrefix('bounded');
const TTL = 600;
const store = new JobStore(redis, { prefix, ttlSeconds: TTL, attemptLogMax: 3 });

const spec = testSpec({
  method: 'PUT',
  maxRetries: 10,
  callbackUrl: 'http://127.0.0.1:9/cb',
  payload: { big: 'x'.repeat(1000) },
  priority: 'high',
  metadata: { team: 'a' },
});

const attempt = (n: number, statusCode: number, note = ''): Attempt => attemptEntry(n, statusCode, note);

const retrying = (n: number, note = '') => ({
  attempt: attempt(n, 503, note),
  status: 'retrying' as const,
  nextAttemptAt: new Date().toISOString(),
  callback: null,
  deadLettered: false,
});

async function newJob(): Promise<string> {
  const jobId = randomUUID();
  await store.create({ jobId, spec, createdAt: new Date(), requestId: null, traceId: 't' });
  return jobId;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('index trimming', () => {
  const k = store.keys;
  const indexes = () => [
    k.indexAll(),
    k.indexHost('127.0.0.1'),
    k.indexMetadata('team', 'a'),
    ...['queued', 'in_progress', 'completed', 'failed', 'cancelled'].map((s) => k.indexStatus(s)),
    k.indexDead(),
  ];
  /** An entry scored two windows ago (window: TTL + slack = 2 TTL) in every index. */
  async function plantStale(): Promise<void> {
    const old = Date.now() - 4 * TTL * 1000;
    for (const key of indexes()) await redis.zadd(key, old, 'stale');
  }
  /** Runs one job through every script that adds to an index. */
  async function everyScript(): Promise<void> {
    const done = await newJob();
    await store.beginAttempt(done, 1, { token: 'a', ms: 10_000 });
    await store.recordAttempt(done, { ...retrying(1), status: 'completed', nextAttemptAt: null });
    const dead = await newJob();
    await store.recordAttempt(dead, { ...retrying(1), status: 'failed', nextAttemptAt: null, deadLettered: true });
    await store.replay(dead, null);
    await store.undoReplay(dead, 1);
    await store.cancel(await newJob(), null);
  }

  it('drops entries older than the window from every index a script adds to, when the cadence says so', async () => {
    await plantStale();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    await everyScript();
    for (const key of indexes()) expect(await redis.zscore(key, 'stale'), key).toBeNull();
    // Entries within the window stay.
    expect(await redis.zcard(k.indexStatus('completed'))).toBe(1);
    expect(await redis.zcard(k.indexDead())).toBe(1);
  });

  it('leaves the indexes alone on the other calls', async () => {
    await plantStale();
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    await everyScript();
    for (const key of indexes()) expect(await redis.zscore(key, 'stale'), key).not.toBeNull();
  });
});

describe('attempt log cap (attemptLogMax 3)', () => {
  it('keeps the newest entries, counts the dropped ones, and stays idempotent after the cap', async () => {
    const jobId = await newJob();
    for (let n = 1; n <= 5; n++) await store.recordAttempt(jobId, retrying(n, `first ${n}`));
    const log = store.keys.attempts(jobId);
    expect(await redis.llen(log)).toBe(3);
    expect(await redis.hget(store.keys.job(jobId), 'logDropped')).toBe('2');
    let view = await store.get(jobId);
    expect(view?.attemptsLog.map((a) => a.attempt)).toEqual([3, 4, 5]);
    expect(view).toMatchObject({ attemptsLogTotal: 5, attemptsLogDropped: 2 });

    // A second write of the latest attempt overwrites it in place; of an older one (a later
    // attempt moved the job on, whether the older entry is kept or dropped) changes nothing.
    expect(await store.recordAttempt(jobId, retrying(5, 'again 5'))).toEqual({ written: true, status: 'retrying' });
    expect(await store.recordAttempt(jobId, retrying(4, 'again 4'))).toEqual({ written: false, status: 'retrying' });
    expect(await store.recordAttempt(jobId, retrying(1, 'again 1'))).toEqual({ written: false, status: 'retrying' });
    view = await store.get(jobId);
    expect(view?.attemptsLog.map((a) => [a.attempt, a.response?.body])).toEqual([
      [3, 'first 3'],
      [4, 'first 4'],
      [5, 'again 5'],
    ]);
    expect(view?.attemptsLogTotal).toBe(5);

    expect(await store.attemptsPage(jobId, 0, 2)).toEqual({ attempts: [], total: 5, dropped: 2 });
    const page = await store.attemptsPage(jobId, 1, 3);
    expect(page?.attempts.map((a) => a.attempt)).toEqual([3, 4]);
    expect((await store.attemptsPage(jobId, 2, 10))?.attempts.map((a) => a.attempt)).toEqual([3, 4, 5]);
  });

  it('bounds the padding of a far-ahead attempt number by the cap', async () => {
    const jobId = await newJob();
    await store.recordAttempt(jobId, retrying(1));
    await store.recordAttempt(jobId, retrying(100_000));
    expect(await redis.llen(store.keys.attempts(jobId))).toBe(1);
    const view = await store.get(jobId);
    expect(view?.attemptsLog.map((a) => a.attempt)).toEqual([100_000]);
    expect(view).toMatchObject({ attemptsLogTotal: 100_000, attemptsLogDropped: 99_999 });
  });
});

describe('TTL refresh', () => {
  async function shortenAll(jobId: string): Promise<void> {
    for (const key of [store.keys.job(jobId), store.keys.jobSpec(jobId), store.keys.attempts(jobId)]) {
      expect(await redis.expire(key, 5)).toBe(1);
    }
  }
  async function expectRefreshed(jobId: string, what: string): Promise<void> {
    for (const key of [store.keys.job(jobId), store.keys.jobSpec(jobId), store.keys.attempts(jobId)]) {
      expect(await redis.ttl(key), `${what}: ${key}`).toBeGreaterThan(TTL - 10);
    }
  }

  it('cancel, replay, setCallback and beginAttempt refresh the hash, the spec and the log together', async () => {
    const jobId = await newJob();
    await store.recordAttempt(jobId, retrying(1));
    await shortenAll(jobId);
    expect(await store.cancel(jobId, null)).toEqual({ outcome: 'cancelled' });
    await expectRefreshed(jobId, 'cancel');

    await shortenAll(jobId);
    expect(await store.replay(jobId, null)).toMatchObject({ outcome: 'ok' });
    await expectRefreshed(jobId, 'replay');

    await shortenAll(jobId);
    await store.setCallback(jobId, pendingCallback());
    await expectRefreshed(jobId, 'setCallback');

    await shortenAll(jobId);
    expect(await store.beginAttempt(jobId, 2, { token: 'b', ms: 10_000 })).toMatchObject({ outcome: 'run' });
    await expectRefreshed(jobId, 'beginAttempt');
  });

  it('skips the refresh of a job written within the slack, and the log it creates lives as long as the hash', async () => {
    // TTL 600 s: the slack is 6 s (1%). A job just created is within it.
    const jobId = await newJob();
    const hashKey = store.keys.job(jobId);
    // Shortened by less than the slack: begin-attempt and record-attempt leave the lifetime alone.
    expect(await redis.pexpire(hashKey, TTL * 1000 - 3000)).toBe(1);
    expect(await redis.pexpire(store.keys.jobSpec(jobId), TTL * 1000 - 3000)).toBe(1);
    expect(await store.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toMatchObject({ outcome: 'run' });
    await store.recordAttempt(jobId, retrying(1));
    const hashPttl = await redis.pttl(hashKey);
    const specPttl = await redis.pttl(store.keys.jobSpec(jobId));
    const logPttl = await redis.pttl(store.keys.attempts(jobId));
    expect(hashPttl).toBeLessThanOrEqual(TTL * 1000 - 3000);
    expect(hashPttl).toBeGreaterThan(TTL * 1000 - 6000);
    expect(Math.abs(specPttl - hashPttl)).toBeLessThan(100);
    // The log was created by record-attempt without a refresh: it got the hash's remaining time.
    expect(Math.abs(logPttl - hashPttl)).toBeLessThan(100);

    // Shortened by more than the slack: the next write refreshes all three.
    for (const k of [hashKey, store.keys.jobSpec(jobId), store.keys.attempts(jobId)]) {
      expect(await redis.pexpire(k, TTL * 1000 - 7000)).toBe(1);
    }
    await store.setCallback(jobId, pendingCallback());
    for (const k of [hashKey, store.keys.jobSpec(jobId), store.keys.attempts(jobId)]) {
      expect(await redis.pttl(k), k).toBeGreaterThan(TTL * 1000 - 2000);
    }
  });
});

describe('index lifetimes', () => {
  // The index window is TTL + slack = 2 TTL (index-window.ts).
  const IDX_TTL = 2 * TTL;
  const gate = new IndexRefreshGate(60_000);
  const gated = new JobStore(redis, { prefix, ttlSeconds: TTL, attemptLogMax: 3, indexRefresh: gate });
  const k = gated.keys;
  const create = async (): Promise<string> => {
    const jobId = randomUUID();
    await gated.create({ jobId, spec, createdAt: new Date(), requestId: null, traceId: 't' });
    return jobId;
  };

  it('gives an index its lifetime on the first add, then at most once a minute', async () => {
    gate.clear();
    await create();
    const created = [k.indexAll(), k.indexStatus('queued'), k.indexHost('127.0.0.1'), k.indexMetadata('team', 'a')];
    for (const key of created) expect(await redis.ttl(key), key).toBeGreaterThan(IDX_TTL - 10);
    for (const key of created) await redis.expire(key, 100);
    // Within the minute: added to, not refreshed.
    await create();
    for (const key of created) expect(await redis.ttl(key), key).toBeLessThanOrEqual(100);
    expect(await redis.zcard(k.indexAll())).toBeGreaterThanOrEqual(2);
    // Due again (as after a minute, or a reconnect): the next add refreshes every index it adds to.
    gate.clear();
    await create();
    for (const key of created) expect(await redis.ttl(key), key).toBeGreaterThan(IDX_TTL - 10);
  });

  it('a store of its own makes every index due again when its connection is ready (after a reconnect)', async () => {
    const own = new JobStore(redis, { prefix, ttlSeconds: TTL, attemptLogMax: 3 });
    const add = () => own.create({ jobId: randomUUID(), spec, createdAt: new Date(), requestId: null, traceId: 't' });
    await add();
    await redis.expire(k.indexAll(), 100);
    await add();
    expect(await redis.ttl(k.indexAll())).toBeLessThanOrEqual(100);
    // A Redis that restarted empty lost its indexes with their lifetimes.
    redis.emit('ready');
    await add();
    expect(await redis.ttl(k.indexAll())).toBeGreaterThan(IDX_TTL - 10);
  });

  it('begin-attempt and record-attempt refresh the status index they add to when it is due', async () => {
    gate.clear();
    const jobId = await create();
    const running = k.indexStatus('in_progress');
    const retryingIdx = k.indexStatus('retrying');
    expect(await gated.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toMatchObject({ outcome: 'run' });
    expect(await redis.ttl(running)).toBeGreaterThan(IDX_TTL - 10);
    expect(await gated.recordAttempt(jobId, retrying(1))).toMatchObject({ written: true, status: 'retrying' });
    expect(await redis.ttl(retryingIdx)).toBeGreaterThan(IDX_TTL - 10);

    // Refreshed within the minute: the next attempt's moves leave the lifetimes.
    await redis.expire(running, 100);
    await redis.expire(retryingIdx, 100);
    expect(await gated.beginAttempt(jobId, 2, { token: 'b', ms: 10_000 })).toMatchObject({ outcome: 'run' });
    expect(await gated.recordAttempt(jobId, retrying(2))).toMatchObject({ written: true, status: 'retrying' });
    expect(await redis.ttl(running)).toBeLessThanOrEqual(100);
    expect(await redis.ttl(retryingIdx)).toBeLessThanOrEqual(100);
    expect(await redis.zscore(retryingIdx, jobId)).not.toBeNull();
  });

  it('an attempt that ends cancelled instead of retrying refreshes the cancelled index', async () => {
    gate.clear();
    const jobId = await create();
    const cancelledIdx = k.indexStatus('cancelled');
    await redis.del(cancelledIdx);
    expect(await gated.beginAttempt(jobId, 1, { token: 'a', ms: 10_000 })).toMatchObject({ outcome: 'run' });
    // Retrying was refreshed just now; cancelled was not, so the write is told to refresh.
    gate.refreshed([k.indexStatus('retrying')], Date.now());
    await redis.hset(k.job(jobId), 'cancelRequested', '1');
    expect(await gated.recordAttempt(jobId, retrying(1))).toMatchObject({ written: true, status: 'cancelled' });
    expect(await redis.ttl(cancelledIdx)).toBeGreaterThan(IDX_TTL - 10);
  });
});

describe('listing reads the hash, not the spec', () => {
  it('builds summaries from the summary fields, with the spec gone', async () => {
    const jobId = await newJob();
    await redis.del(store.keys.jobSpec(jobId));
    const [hash] = await store.getRawMany([jobId]);
    expect(hash).not.toHaveProperty('spec');
    expect(toSummary(jobId, hash!)).toMatchObject({
      targetUrl: spec.targetUrl,
      method: 'PUT',
      priority: 'high',
      metadata: { team: 'a' },
    });
  });

  it('leaves defaults out of the hash and reads them back', async () => {
    const jobId = randomUUID();
    await store.create({
      jobId,
      spec: { ...spec, method: 'GET', priority: 'normal', metadata: {} },
      createdAt: new Date(),
      requestId: null,
      traceId: 't',
    });
    const raw = await redis.hgetall(store.keys.job(jobId));
    expect(raw).not.toHaveProperty('method');
    expect(raw).not.toHaveProperty('priority');
    const [hash] = await store.getRawMany([jobId]);
    expect(toSummary(jobId, hash!)).toMatchObject({ method: 'GET', priority: 'normal', metadata: {} });
  });

  it('writes the summary fields when begin-attempt recreates a missing job', async () => {
    const jobId = randomUUID();
    const recreateFrom = { spec, createdAt: new Date().toISOString() };
    expect(await store.beginAttempt(jobId, 1, { token: 'r', ms: 10_000 }, recreateFrom)).toMatchObject({
      outcome: 'run',
    });
    await redis.del(store.keys.jobSpec(jobId));
    const [hash] = await store.getRawMany([jobId]);
    expect(toSummary(jobId, hash!)).toMatchObject({
      targetUrl: spec.targetUrl,
      method: 'PUT',
      priority: 'high',
      metadata: { team: 'a' },
    });
  });
});

describe('noeviction check', () => {
  it('judges the policy: noeviction is fine, others warn or refuse, an unreadable one is warned about', () => {
    expect(judgeEvictionPolicy('noeviction', 'refuse')).toEqual({ kind: 'ok' });
    expect(judgeEvictionPolicy('allkeys-lru', 'warn')).toMatchObject({ kind: 'warn' });
    expect(judgeEvictionPolicy('volatile-ttl', 'refuse')).toMatchObject({
      kind: 'refuse',
      message: expect.stringContaining('noeviction'),
    });
    expect(judgeEvictionPolicy(null, 'refuse')).toMatchObject({ kind: 'unknown' });
  });

  it('passes against the real Redis, which runs with noeviction', async () => {
    const lines: string[] = [];
    const log = {
      info: () => undefined,
      warn: (_o: unknown, m?: string) => lines.push(m ?? ''),
      error: () => undefined,
    };
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    await checkEvictionPolicy(redis, 'refuse', log as never, 'test');
    expect(lines).toEqual([]);
  });

  it('warns, and does not refuse, when CONFIG is disabled', async () => {
    const lines: string[] = [];
    const log = {
      info: () => undefined,
      warn: (_o: unknown, m?: string) => lines.push(m ?? ''),
      error: () => undefined,
    };
    const noConfig = { config: () => Promise.reject(new Error("ERR unknown command 'CONFIG'")) } as unknown as Redis;
    await checkEvictionPolicy(noConfig, 'refuse', log as never, 'test');
    expect(lines).toEqual([expect.stringContaining('could not read Redis maxmemory-policy')]);
  });
});

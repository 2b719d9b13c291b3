import { Redis } from 'ioredis';
import { redisKeys } from '@relay/common';
import { afterEach, expect, it } from 'vitest';
import { RelayClient } from '../support/relay-client.js';
import { REDIS_URL, waitFor } from '../support/services.js';
import { startStack } from '../support/stack.js';
import { CountingReceiver, CountingTarget } from './support/counting-servers.js';
import { formatTable, type FaultRow } from './support/ledger.js';
import { submitJobs, type Submission } from './support/load.js';
import { formatMemory, redisMemory, type RedisMemory } from './support/redis-memory.js';

/**
 * A soak with a short TTL: JOB_TTL_SECONDS=60 on the backend and the worker,
 * SOAK_LOAD_SECONDS (default 600) of load at SOAK_RATE jobs/s (default 150)
 * with mixed outcomes, then the TTL plus a minute idle. What relay stored
 * must go away by itself: the prefix's bytes and keys, and Redis's
 * used_memory, come back to within 10% of where they started (of the starting
 * used_memory: the prefix starts nearly empty).
 *
 * Outcomes, by submission number: 8 in 10 complete; 1 in 10 fails at once
 * (maxRetries 0) and is dead-lettered; 1 in 10 fails and waits to retry, and
 * is cancelled through the API (found by listing retrying jobs), or fails
 * after its retries if the cancel comes too late.
 *
 * Redis is shared: the scenario judges on MEMORY USAGE over a SCAN of its
 * own prefix, which other tests cannot distort, and reports used_memory
 * beside it (the exclusive lock keeps other tests away for the full run:
 * `flock -x /tmp/relay-brokers.lock pnpm vitest run --config
 * vitest.faults.config.ts e2e/faults/soak.fault.ts`).
 */

const LOAD_SECONDS = Number(process.env.SOAK_LOAD_SECONDS ?? 600);
const RATE = Number(process.env.SOAK_RATE ?? 150);
const TTL_SECONDS = 60;
const IDLE_MS = (TTL_SECONDS + 60) * 1000;
/**
 * After the idle time, how long to wait for Redis to drop what expired at its
 * very end (the indexes live TTL + slack after their last entry; Redis expires
 * keys in the background).
 */
const EXPIRY_GRACE_MS = 60_000;
const PROGRESS_EVERY_MS = 30_000;

const t0 = Date.now();
const progress = (text: string) => process.stderr.write(`soak [${((Date.now() - t0) / 1000).toFixed(1)} s]: ${text}\n`);
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => progress(`cleanup: ${err}`));
});

type Kind = 'ok' | 'dead' | 'cancel';
const kindOf = (seq: number): Kind => (seq % 10 === 8 ? 'dead' : seq % 10 === 9 ? 'cancel' : 'ok');

/** Cancels every job listed as retrying, until stopped; returns how many cancels were answered 200/202. */
function cancelRetrying(api: RelayClient): { stop: () => Promise<number> } {
  let running = true;
  let cancelled = 0;
  const loop = (async () => {
    while (running) {
      const page = await api.send('GET', '/api/jobs?status=retrying&limit=100').catch(() => null);
      for (const job of (page?.body?.jobs ?? []) as { jobId: string }[]) {
        const res = await api.send('POST', `/api/job/${job.jobId}/cancel`).catch(() => null);
        if (res && res.status < 300) cancelled++;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return cancelled;
    },
  };
}

it(
  `soak: ${LOAD_SECONDS} s at ${RATE} jobs/s with JOB_TTL_SECONDS=${TTL_SECONDS}, then idle: Redis memory comes back`,
  async () => {
    const admin = new Redis(REDIS_URL);
    cleanups.push(async () => admin.disconnect());
    const target = await new CountingTarget().listen();
    const receiver = await new CountingReceiver().listen();
    cleanups.push(() => Promise.all([target.close(), receiver.close()]).then(() => undefined));
    const stack = await startStack('fault-soak', {
      env: { LOG_LEVEL: 'warn', JOB_TTL_SECONDS: String(TTL_SECONDS), CALLBACK_RETRY_DELAY_MS: '200' },
    });
    cleanups.push(() => stack.stop());

    // The running worker's presence (its heartbeat key and the workers set,
    // rewritten every second while it runs) belongs to the starting state,
    // not to what the soak leaves: sampled before the first heartbeat, the
    // start read 0 keys and the end 4, against a bound of 2 (seen in CI).
    await waitFor(
      async () => (await admin.scard(redisKeys(stack.prefix).workers())) > 0,
      10_000,
      "the worker's first heartbeat",
    );
    const start = await redisMemory(admin, stack.prefix);
    let peak: RedisMemory = start;
    progress(`start: ${formatMemory(start)}`);
    let submissions: Submission[] = [];
    const finalCount = () => submissions.filter((s) => s.status === 202 && receiver.isFinal(s.jobId!)).length;
    const sampler = setInterval(() => {
      redisMemory(admin, stack.prefix).then(
        (m) => {
          if (m.prefixBytes > peak.prefixBytes) peak = m;
          progress(`${formatMemory(m)}; ${receiver.perJob.size} jobs called back; ${target.totalCalls()} target calls`);
        },
        (err: unknown) => progress(`sample failed: ${err}`),
      );
    }, PROGRESS_EVERY_MS);
    cleanups.push(async () => clearInterval(sampler));

    const canceller = cancelRetrying(stack.api);
    progress(`submitting ${RATE * LOAD_SECONDS} jobs at ${RATE}/s for ${LOAD_SECONDS} s`);
    submissions = await submitJobs({
      baseUrl: () => stack.api.baseUrl,
      count: RATE * LOAD_SECONDS,
      perSecond: RATE,
      spec: (seq) => {
        const kind = kindOf(seq);
        const base = { callbackUrl: receiver.url('/cb') };
        if (kind === 'ok') return { ...base, targetUrl: target.url('/ok'), maxRetries: 3, retryDelay: 200 };
        if (kind === 'dead') return { ...base, targetUrl: target.url('/fail'), maxRetries: 0 };
        return { ...base, targetUrl: target.url('/fail'), maxRetries: 2, retryDelay: 5000 };
      },
    });
    const accepted = submissions.filter((s) => s.status === 202);
    progress(`load done: ${accepted.length} accepted, ${submissions.length - accepted.length} refused`);
    const deadline = Date.now() + 180_000;
    while (finalCount() < accepted.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    const cancels = await canceller.stop();
    const settledAt = Date.now();
    progress(`settled: ${finalCount()}/${accepted.length} final; idle for ${IDLE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, IDLE_MS));

    const bound = 0.1 * start.usedMemory;
    const within = (m: RedisMemory) =>
      m.prefixBytes - start.prefixBytes <= bound && m.usedMemory <= start.usedMemory + bound;
    let end = await redisMemory(admin, stack.prefix);
    const graceUntil = Date.now() + EXPIRY_GRACE_MS;
    while (!within(end) && Date.now() < graceUntil) {
      await new Promise((r) => setTimeout(r, 5000));
      end = await redisMemory(admin, stack.prefix);
    }
    clearInterval(sampler);
    const idleSeconds = Math.round((Date.now() - settledAt) / 1000);
    progress(`end (${idleSeconds} s after the last job ended): ${formatMemory(end)}`);

    const byKind = { ok: 0, dead: 0, cancel: 0 };
    const statuses: Record<string, number> = {};
    for (const s of accepted) {
      byKind[kindOf(s.seq)]++;
      const st = receiver.perJob.get(s.jobId!)?.status ?? 'none';
      statuses[st] = (statuses[st] ?? 0) + 1;
    }
    const lost = accepted.filter((s) => !receiver.isFinal(s.jobId!));
    let dupCallbacks = 0;
    for (const s of accepted) dupCallbacks += Math.max(0, (receiver.perJob.get(s.jobId!)?.count ?? 0) - 1);
    const mib = (n: number) => (n / 2 ** 20).toFixed(2);
    const row: FaultRow = {
      scenario: `soak ${LOAD_SECONDS} s, JOB_TTL_SECONDS=${TTL_SECONDS}`,
      accepted: accepted.length,
      refused: submissions.length - accepted.length,
      lost: lost.length,
      duplicateTargetCalls: 0,
      callsForRefused: 0,
      duplicateCallbacks: dupCallbacks,
      slowestRefusalMs: 0,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      notes:
        `final ${JSON.stringify(statuses)}, ${cancels} cancels; used_memory ${mib(start.usedMemory)} -> peak ${mib(peak.usedMemory)} -> ${mib(end.usedMemory)} MiB; ` +
        `prefix ${start.prefixKeys} keys/${mib(start.prefixBytes)} MiB -> peak ${peak.prefixKeys}/${mib(peak.prefixBytes)} -> ${end.prefixKeys}/${mib(end.prefixBytes)} MiB`,
    };
    process.stdout.write(`\n${formatTable([row])}\n\n`);
    expect(row.lost).toBe(0);
    expect(statuses.completed).toBeGreaterThan(0);
    expect(statuses.failed).toBeGreaterThan(0);
    expect(statuses.cancelled).toBeGreaterThan(0);
    // The prefix's own bytes are back (judged against the server's starting
    // used_memory, as the prefix starts nearly empty); only the per-application
    // counters hash, which never expires, may remain.
    expect(end.prefixBytes - start.prefixBytes).toBeLessThanOrEqual(bound);
    expect(end.prefixKeys - start.prefixKeys).toBeLessThanOrEqual(2);
    expect(end.usedMemory).toBeLessThanOrEqual(start.usedMemory + bound);
  },
  (LOAD_SECONDS + 600) * 1000,
);

/**
 * What REDIS_WAIT_REPLICAS costs job creation: JobStore.create against the
 * Sentinel set-up (default) or the Redis Cluster (MODE=cluster) of
 * scripts/ha/, N creations (default 2000) from C concurrent callers (default
 * 64), without and with WAIT 1. Start the set-up first
 * (scripts/ha/redis-sentinel.sh up). Figures: docs/benchmarks.md.
 *
 *   pnpm exec tsx --conditions relay-source bench/redis-wait.ts
 */
import { randomUUID } from 'node:crypto';
import { connectRedis, createLogger, JobStore } from '@relay/common';
const log = createLogger({ name: 't', level: 'silent' });
const target = process.env.MODE === 'cluster'
  ? { kind: 'cluster' as const, nodes: [{ host: '127.0.0.1', port: 7101 }], username: '', password: '' }
  : { kind: 'sentinel' as const, sentinels: [{ host: '127.0.0.1', port: 26401 }], name: 'relay-ha', username: '', password: '', sentinelPassword: '' };
const redis = await connectRedis({ target, log, startupTimeoutMs: 5000 });
const intake = await connectRedis({ target, log, startupTimeoutMs: 5000 });
const spec = { targetUrl: 'http://127.0.0.1:9/x', method: 'POST' as const, headers: {}, maxRetries: 1, retryDelay: 1000, timeout: 1000, payload: null, priority: 'normal' as const };
for (const wait of [0, 1]) {
  const store = new JobStore(redis, { prefix: 't-ha-wait', ttlSeconds: 60, waitReplicas: wait, waitTimeoutMs: 1000, intakeRedis: intake });
  const n = Number(process.env.N ?? 2000);
  const conc = Number(process.env.C ?? 64);
  let ok = 0, bad = 0; const lat: number[] = [];
  const t0 = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (i < n) { i++; const s = performance.now();
      try { await store.create({ jobId: randomUUID(), spec, createdAt: new Date(), requestId: null, traceId: 't' }); ok++; } catch (e) { bad++; if (bad < 3) console.log(String((e as any).cause ?? e)); }
      lat.push(performance.now() - s); }
  }));
  const ms = performance.now() - t0; lat.sort((a, b) => a - b);
  console.log(`wait=${wait}: ${ok} ok ${bad} refused, ${Math.round(n / ms * 1000)} creates/s, p50 ${lat[n >> 1]!.toFixed(2)} ms p99 ${lat[Math.floor(n * 0.99)]!.toFixed(2)} ms`);
}
redis.disconnect(); intake.disconnect();

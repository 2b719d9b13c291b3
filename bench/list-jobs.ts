/**
 * How fast is GET /api/jobs with 100,000 jobs stored? Stores N jobs (queued,
 * 100 customers in metadata, 10 hosts) under a random prefix through the real
 * JobStore, then times list queries through the real app (app.inject, no
 * network) and prints the median of 25 runs of each. Removes its keys after.
 *
 *   pnpm exec tsx bench/list-jobs.ts [jobs=100000]
 */
import { randomUUID } from 'node:crypto';
import { createLogger, JobStore, connectRedis, redisTarget, type JobSpec } from '@relay/common';
import { buildApp, loadBackendConfig } from '@relay/backend';
import { cleanup, keysWithPrefix, randomPrefix } from '../e2e/support/services.js';

const total = Number(process.argv[2] ?? 100_000);
const prefix = randomPrefix('listbench');
const log = createLogger({ name: 'bench', level: 'silent' });
// app.inject needs no network; without auth the list queries need no key.
const config = loadBackendConfig({ RELAY_PREFIX: prefix, LOG_LEVEL: 'silent', RELAY_AUTH: 'off', HOST: '127.0.0.1' });
const redis = await connectRedis({ target: redisTarget(config), log, startupTimeoutMs: 5000 });
const store = new JobStore(redis, { prefix, ttlSeconds: config.jobTtlSeconds });

const t0 = performance.now();
const base = Date.now() - total; // one job per ms, oldest first
for (let i = 0; i < total; i += 500) {
  await Promise.all(
    Array.from({ length: Math.min(500, total - i) }, (_, j) => {
      const n = i + j;
      const spec: JobSpec = {
        targetUrl: `https://host${n % 10}.example/hook`,
        method: 'POST',
        headers: {},
        payload: { n },
        maxRetries: 3,
        retryDelay: 1000,
        timeout: 10_000,
        priority: 'normal',
        metadata: { customer: `c${n % 100}`, n: String(n) },
      };
      return store.create({ jobId: randomUUID(), spec, createdAt: new Date(base + n), requestId: null, traceId: '' });
    }),
  );
  if ((i / 500) % 40 === 0) process.stderr.write(`  stored ${i + 500}/${total}\n`);
}
const storeSeconds = (performance.now() - t0) / 1000;

const app = await buildApp({ config, log });
const queries: Record<string, string> = {
  'newest 50, no filter': '/api/jobs?limit=50',
  'newest 50, metadata.customer (1%)': '/api/jobs?limit=50&metadata.customer=c42',
  'newest 50, status=queued': '/api/jobs?limit=50&status=queued',
  'newest 50, targetHost (10%)': '/api/jobs?limit=50&targetHost=host3.example',
  'page 2 via cursor, no filter': '',
  'metadata.n exact (1 match)': `/api/jobs?limit=50&metadata.n=${Math.floor(total / 2)}`,
};
const first = await app.inject({ url: '/api/jobs?limit=50' });
queries['page 2 via cursor, no filter'] = `/api/jobs?limit=50&cursor=${first.json().nextCursor}`;

const rows: { query: string; medianMs: number; results: number }[] = [];
for (const [name, url] of Object.entries(queries)) {
  const times: number[] = [];
  let results = 0;
  for (let r = 0; r < 25; r++) {
    const s = performance.now();
    const res = await app.inject({ url });
    times.push(performance.now() - s);
    results = res.json().jobs.length;
  }
  times.sort((a, b) => a - b);
  rows.push({ query: name, medianMs: Number(times[12]!.toFixed(2)), results });
}
const bytes = Number((await redis.info('memory')).match(/used_memory:(\d+)/)?.[1] ?? 0);
console.log(`stored ${total} jobs in ${storeSeconds.toFixed(1)} s; Redis used_memory ${(bytes / 1e6).toFixed(0)} MB`);
console.table(rows);
await app.close();
const keys = await keysWithPrefix(redis, prefix);
for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
redis.disconnect();
await cleanup(prefix);

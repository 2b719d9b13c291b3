/**
 * Where a finished job's Redis bytes go: starts the benchmark's stack,
 * submits the benchmark's job N times (default 500), waits for every
 * callback, then prints MEMORY USAGE by kind of key, the per-job average, and
 * the fields of one job hash with their sizes and Redis's encoding of it.
 *
 *   pnpm exec tsx bench/job-footprint.ts [jobs]
 */
import { connectRedis, createLogger } from '@relay/common';
import { REDIS_URL } from '../e2e/support/services.js';
import { openLoop, settled, submitPool } from './load-generator.js';
import { startStack } from './stack.js';

const jobs = Number(process.argv[2] ?? 500);
/** Light load: the point is what a finished job leaves behind, not speed. */
const RATE = 200;
const log = (line: string) => process.stderr.write(`${line}\n`);
const stack = await startStack(log);
const redis = await connectRedis({
  target: { kind: 'url', url: REDIS_URL, username: '', password: '' },
  log: createLogger({ name: 'footprint', level: 'silent' }),
  startupTimeoutMs: 5000,
});
const pool = submitPool(stack.relayOrigin, 16);
try {
  const batch = stack.receiver.open('footprint');
  // The benchmark's job (bench/main.ts), through the benchmark's load generator.
  const submitter = {
    pool,
    path: '/api/jobs',
    body: (b: typeof batch, seq: number) =>
      JSON.stringify({
        targetUrl: `${stack.targetOrigin}/ok`,
        method: 'POST',
        payload: { seq },
        callbackUrl: stack.receiver.url(b, seq),
      }),
  };
  await openLoop(submitter, batch, RATE, (jobs / RATE) * 1000);
  await settled(batch, 30_000);
  log(`${batch.callbacks}/${batch.sent} called back (${batch.refused} refused)`);
  // The callback's state is written just after the callback is answered.
  await new Promise((r) => setTimeout(r, 500));
  const usage = await stack.redis.usage();
  console.log(`bytes per job ${Math.round(usage.bytes / usage.jobs)} over ${usage.jobs} jobs (${usage.keys} keys)`);
  for (const [kind, bytes] of Object.entries(usage.byKind)) {
    console.log(`  ${kind.padEnd(12)} ${Math.round(bytes / usage.jobs)}`);
  }
  const [, keys] = await redis.scan('0', 'MATCH', `${stack.prefix}:job:*`, 'COUNT', 10_000);
  const jobKey = keys.find((k) => /:job:[0-9a-f-]{36}$/.test(k))!;
  console.log(`one job: ${jobKey.slice(stack.prefix.length)}`);
  for (const key of keys.filter((k) => k.startsWith(jobKey))) {
    const type = await redis.type(key);
    const encoding = await redis.object('ENCODING', key);
    console.log(`  ${key.slice(jobKey.length) || '(hash)'} ${type}/${encoding} ${await redis.memory('USAGE', key)} B`);
  }
  const hash = await redis.hgetall(jobKey);
  for (const [field, value] of Object.entries(hash)) {
    console.log(`    ${field.padEnd(16)} ${String(value.length).padStart(4)}  ${value.slice(0, 100)}`);
  }
} finally {
  await pool.close();
  redis.disconnect();
  await stack.stop();
}

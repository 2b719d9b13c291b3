import { afterAll, beforeAll, expect, it } from 'vitest';
import { haScript, sentinelEnv } from './support/redis-ha.js';
import { formatFailoverTable, runFailover, type FailoverRow } from './support/redis-failover.js';

/**
 * Relay on a Sentinel set-up (1 master, 2 replicas, 3 sentinels, quorum 2)
 * under 200 jobs/s; the master is SIGKILLed, the sentinels promote a replica,
 * and the killed node comes back 5 s later as a replica. Once without and once
 * with REDIS_WAIT_REPLICAS=1. Nothing accepted may be lost; refusals,
 * duplicates and the longest gap between 202s are printed.
 */

const rows: FailoverRow[] = [];
const progress = (text: string) => process.stderr.write(`ha-sentinel: ${text}\n`);

beforeAll(async () => {
  await haScript('redis-sentinel.sh', 'up');
});

afterAll(async () => {
  process.stdout.write(`\nRedis Sentinel failover\n\n${formatFailoverTable(rows)}\n\n`);
  await haScript('redis-sentinel.sh', 'down');
});

const kill = () => haScript('redis-sentinel.sh', 'kill-master');
const restore = () => haScript('redis-sentinel.sh', 'up').then(() => undefined);

for (const waitReplicas of ['0', '1']) {
  it(`kill the Sentinel-managed master, REDIS_WAIT_REPLICAS=${waitReplicas}: nothing lost`, async () => {
    const env = { ...(await sentinelEnv()), REDIS_WAIT_REPLICAS: waitReplicas, REDIS_WAIT_TIMEOUT_MS: '1000' };
    const row = await runFailover({ label: `sentinel wait=${waitReplicas}`, env, kill, restore, progress });
    rows.push(row);
    progress(JSON.stringify(row));
    expect(row.accepted).toBeGreaterThan(0);
    expect(row.lost).toBe(0);
  });
}

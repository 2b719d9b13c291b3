import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterEnv, haScript } from './support/redis-ha.js';
import { formatFailoverTable, runFailover, type FailoverRow } from './support/redis-failover.js';

/**
 * Relay on a Redis Cluster (3 masters, 3 replicas) under 200 jobs/s; the
 * master that owns the default application's slot (every job here) is
 * SIGKILLed, its replica takes over, and the killed node comes back 5 s later
 * as a replica. Once without and once with REDIS_WAIT_REPLICAS=1. Nothing
 * accepted may be lost; refusals, duplicates and the longest gap between 202s
 * are printed (docs/benchmarks.md keeps the figures).
 */

const rows: FailoverRow[] = [];
const progress = (text: string) => process.stderr.write(`ha-cluster: ${text}\n`);

beforeAll(async () => {
  await haScript('redis-cluster.sh', 'up');
});

afterAll(async () => {
  process.stdout.write(`\nRedis Cluster failover\n\n${formatFailoverTable(rows)}\n\n`);
  await haScript('redis-cluster.sh', 'down');
});

const kill = () => haScript('redis-cluster.sh', 'kill-master');
const restore = () => haScript('redis-cluster.sh', 'up').then(() => undefined);

for (const waitReplicas of ['0', '1']) {
  it(`kill the master of the default application's slot, REDIS_WAIT_REPLICAS=${waitReplicas}: nothing lost`, async () => {
    const env = { ...(await clusterEnv()), REDIS_WAIT_REPLICAS: waitReplicas, REDIS_WAIT_TIMEOUT_MS: '1000' };
    const row = await runFailover({ label: `cluster wait=${waitReplicas}`, env, kill, restore, progress });
    rows.push(row);
    progress(JSON.stringify(row));
    expect(row.accepted).toBeGreaterThan(0);
    expect(row.lost).toBe(0);
  });
}

/**
 * Three backends and three workers on the clusters against the same on one
 * node, in ONE run (issue 13, "Prove it"): the set-ups alternate round by
 * round (A B A B …) so that the machine's load drifts over both alike, and
 * the figures are medians over the rounds.
 *
 *   single   the machine's RabbitMQ (RABBITMQ_URL, 5672) and Redis (REDIS_URL, 6379), quorum queues
 *   cluster  3-node RabbitMQ cluster (scripts/ha/rabbitmq-cluster.sh, quorum queues)
 *            + Redis Cluster of 3 masters and 3 replicas (scripts/ha/redis-cluster.sh)
 *   classic  (BENCH_HA_CLASSIC=1) the single node with classic queues, for reference
 *
 * Each set-up: 3 backends and 3 workers on their own prefix, spawned as in
 * the e2e tests and kept up for the whole run (after a short warm-up load);
 * each round is a closed loop of C clients (spread round-robin over the
 * three backends) submitting N jobs to a target on 127.0.0.1:0 with a
 * callback to this process. Measured: intake (202s per second, first
 * submit to last 202), end to end (jobs per second, first submit to last
 * callback), p50/p99 of the POST's answer time and of submit-to-callback.
 *
 *   pnpm bench:ha [jobs=2000] [clients=64] [rounds=3]
 *
 * The clusters are started with the repo's scripts, with their data under
 * /tmp/relay-ha-bench/ (RELAY_HA_RABBIT_DIR, HA_REDIS_DIR override), and
 * stopped at the end if this run started them (BENCH_HA_KEEP=1 keeps them).
 * Needs rabbitmq-server and redis-server installed (as `pnpm test:ha`).
 * Everything listens on 127.0.0.1.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { REPO_ROOT, startBackend, startWorker, type RelayProcess } from '../e2e/support/processes.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from '../e2e/support/services.js';
import { startScript, stopChild } from './stack.js';
import { median, percentile } from './stats.js';

const total = Number(process.argv[2] ?? 2000);
const clients = Number(process.argv[3] ?? 64);
const rounds = Number(process.argv[4] ?? 3);
const WARMUP_JOBS = 300;
const BACKENDS = 3;
const WORKERS = 3;
const SETTLE_TIMEOUT_MS = 120_000;

const run = promisify(execFile);
const haDir = '/tmp/relay-ha-bench';
const scriptEnv = {
  ...process.env,
  RELAY_HA_RABBIT_DIR: process.env.RELAY_HA_RABBIT_DIR ?? `${haDir}/rabbit`,
  HA_REDIS_DIR: process.env.HA_REDIS_DIR ?? `${haDir}/redis`,
};
async function ha(script: 'rabbitmq-cluster.sh' | 'redis-cluster.sh', ...args: string[]): Promise<string> {
  const { stdout } = await run(path.join(REPO_ROOT, 'scripts/ha', script), args, {
    env: scriptEnv,
    timeout: 300_000,
  });
  return stdout.trim();
}

const t00 = performance.now();
function log(text: string): void {
  process.stderr.write(`ha-bench [${((performance.now() - t00) / 1000).toFixed(0)} s] ${text}\n`);
}

interface Setup {
  name: string;
  env(): Record<string, string>;
  /** Removes what a round left (the clusters' data goes with `down`). */
  clean(prefix: string): Promise<void>;
}

interface RoundResult {
  setup: string;
  intakePerSec: number;
  endToEndPerSec: number;
  postP50: number;
  postP99: number;
  e2eP50: number;
  e2eP99: number;
  refused: number;
  retried: number;
}

// --- callbacks: in this process, so submit and callback times share a clock ---
let onCallback: (round: number, seq: number, attempts: number) => void = () => undefined;
let roundId = 0;
const callbackServer = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(204).end();
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const seq = Number(query.get('s'));
    let attempts = 0;
    try {
      attempts = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { attempts?: number }).attempts ?? 0;
    } catch {
      // An unreadable body still counts as the job's callback.
    }
    onCallback(Number(query.get('r')), seq, attempts);
  });
});
callbackServer.keepAliveTimeout = 5000;

/** 3 backends and 3 workers of one set-up on their own prefix, up for the whole run. */
interface Relay {
  setup: Setup;
  prefix: string;
  baseUrls: string[];
  stop(): Promise<void>;
}

async function startRelay(setup: Setup): Promise<Relay> {
  const prefix = randomPrefix('hab');
  const env = {
    RELAY_PREFIX: prefix,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    // One target and one application: the per-worker fairness caps are raised to the slot count.
    WORKER_CONCURRENCY: '64',
    HOST_CONCURRENCY: '64',
    APPLICATION_CONCURRENCY: '64',
    RATE_LIMIT_MAX: '10000000',
    ...setup.env(),
  };
  const procs: RelayProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await setup.clean(prefix).catch((err: Error) => log(`clean-up of ${prefix}: ${err.message}`));
  };
  try {
    // One after another: six tsx processes compiling at once on 2 cores time out their start.
    const baseUrls: string[] = [];
    for (let i = 0; i < BACKENDS; i++) {
      const b = await startBackend(env);
      procs.push(b.proc);
      baseUrls.push(b.baseUrl);
    }
    for (let i = 0; i < WORKERS; i++) procs.push(await startWorker(env));
    log(`${setup.name}: ${BACKENDS} backends and ${WORKERS} workers up (prefix ${prefix})`);
    return { setup, prefix, baseUrls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function oneRound(relay: Relay, jobs: number, label: string): Promise<RoundResult> {
  const total = jobs;
  const { baseUrls } = relay;
  {
    const sentAt = new Float64Array(total);
    const doneAt = new Float64Array(total).fill(Number.NaN);
    const postMs: number[] = [];
    let callbacks = 0;
    let retried = 0;
    let refused = 0;
    let lastCallback = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const round = ++roundId;
    onCallback = (r, seq, attempts) => {
      // A late duplicate of an earlier round's callback is not this round's.
      if (r !== round || !(seq >= 0 && seq < total) || !Number.isNaN(doneAt[seq]!)) return;
      doneAt[seq] = lastCallback = performance.now();
      if (attempts > 1) retried++;
      if (++callbacks === total) resolveDone();
    };
    const agent = new Agent({ connections: Math.ceil(clients / BACKENDS), keepAliveTimeout: 10_000 });
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        const base = baseUrls[c % BACKENDS]!;
        while (next < total) {
          const seq = next++;
          const body = JSON.stringify({
            targetUrl: `${targetOrigin}/ok`,
            method: 'POST',
            payload: { seq },
            callbackUrl: `${cbOrigin}/cb?r=${round}&s=${seq}`,
          });
          // A refused submit (503 while a node is busy) is retried by the client, as a user's would be.
          for (;;) {
            const at = performance.now();
            sentAt[seq] = at;
            const res = await request(`${base}/api/jobs`, {
              method: 'POST',
              body,
              headers: { 'content-type': 'application/json' },
              dispatcher: agent,
            });
            await res.body.dump();
            postMs.push(performance.now() - at);
            if (res.statusCode === 202) break;
            if (res.statusCode !== 503) throw new Error(`${label}: submit answered ${res.statusCode}`);
            refused++;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }),
    );
    const submitted = performance.now();
    log(`${label}: all ${total} accepted in ${((submitted - t0) / 1000).toFixed(1)} s; waiting for callbacks`);
    const timer = setTimeout(() => resolveDone(), SETTLE_TIMEOUT_MS);
    await done;
    clearTimeout(timer);
    await agent.close();
    if (callbacks < total)
      throw new Error(`${label}: only ${callbacks}/${total} called back in ${SETTLE_TIMEOUT_MS} ms`);
    const e2e = Array.from(doneAt, (d, i) => d - sentAt[i]!);
    const r: RoundResult = {
      setup: relay.setup.name,
      intakePerSec: Math.round(total / ((submitted - t0) / 1000)),
      endToEndPerSec: Math.round(total / ((lastCallback - t0) / 1000)),
      postP50: Math.round(percentile(postMs, 50)),
      postP99: Math.round(percentile(postMs, 99)),
      e2eP50: Math.round(percentile(e2e, 50)),
      e2eP99: Math.round(percentile(e2e, 99)),
      refused,
      retried,
    };
    log(`${label}: ${JSON.stringify(r)}`);
    return r;
  }
}

const single: Setup = {
  name: 'single (quorum)',
  env: () => ({ RABBITMQ_URL, REDIS_URL, RELAY_QUEUE_TYPE: 'quorum' }),
  clean: cleanup,
};
const classic: Setup = {
  name: 'single (classic)',
  env: () => ({ RABBITMQ_URL, REDIS_URL, RELAY_QUEUE_TYPE: 'classic' }),
  clean: cleanup,
};
let clusterEnv: Record<string, string> = {};
const cluster: Setup = {
  name: 'cluster (quorum, Redis 3+3)',
  env: () => clusterEnv,
  // Everything is on the bench's own clusters, which `down` wipes; left as is between rounds.
  clean: async () => undefined,
};

async function pinged(port: number): Promise<boolean> {
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 5000 }).then(
    (r) => r.stdout.trim() === 'PONG',
    () => false,
  );
}

const setups = [single, cluster, ...(process.env.BENCH_HA_CLASSIC ? [classic] : [])];
// The cluster ports are shared with `pnpm test:ha`: a Redis Cluster found running belongs to
// someone else (or to a run kept with BENCH_HA_KEEP), and is neither measured nor torn down.
if ((await pinged(7101)) && !process.env.BENCH_HA_REUSE) {
  console.error('ha-bench: something answers on 127.0.0.1:7101 already; stop it or set BENCH_HA_REUSE=1');
  process.exit(1);
}
const redisWasUp = await pinged(7101);
let startedClusters = false;
const target = await startScript('target-server.ts');
await new Promise<void>((r) => callbackServer.listen(0, '127.0.0.1', r));
const cbOrigin = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}`;
const targetOrigin = `http://127.0.0.1:${target.port}`;
const results: RoundResult[] = [];
const relays: Relay[] = [];
try {
  log(`starting the clusters (data under ${haDir}${redisWasUp ? '; Redis Cluster already up, reused' : ''})`);
  startedClusters = true;
  await Promise.all([ha('rabbitmq-cluster.sh', 'up'), ha('redis-cluster.sh', 'up')]);
  const urls = await ha('rabbitmq-cluster.sh', 'urls');
  clusterEnv = {
    RABBITMQ_URLS: urls,
    RABBITMQ_URL: urls.split(',')[0]!,
    REDIS_CLUSTER_NODES: await ha('redis-cluster.sh', 'nodes'),
    RELAY_QUEUE_TYPE: 'quorum',
  };
  log(`clusters up: ${JSON.stringify(clusterEnv)}`);
  for (const s of setups) relays.push(await startRelay(s));
  // A short load per set-up first (JIT, connection pools, the brokers' first publishes), not counted.
  for (const relay of relays) await oneRound(relay, WARMUP_JOBS, `warm-up ${relay.setup.name}`);
  for (let r = 1; r <= rounds; r++) {
    for (const relay of relays) {
      results.push(await oneRound(relay, total, `round ${r}/${rounds} ${relay.setup.name}`));
    }
  }
} finally {
  for (const relay of relays) await relay.stop();
  await stopChild(target.child);
  callbackServer.closeAllConnections();
  callbackServer.close();
  if (startedClusters && !process.env.BENCH_HA_KEEP) {
    log('stopping the clusters');
    await ha('rabbitmq-cluster.sh', 'down').catch((err: Error) => log(`rabbitmq down: ${err.message}`));
    if (!redisWasUp) await ha('redis-cluster.sh', 'down').catch((err: Error) => log(`redis down: ${err.message}`));
  }
}

// --- report ---
const cols = ['intakePerSec', 'endToEndPerSec', 'postP50', 'postP99', 'e2eP50', 'e2eP99', 'refused'] as const;
const med = (name: string, k: (typeof cols)[number]) =>
  median(results.filter((r) => r.setup === name).map((r) => r[k]));
console.log(
  `\n${BACKENDS} backends × ${WORKERS} workers, ${total} jobs per round, ${clients} clients, ${rounds} rounds per set-up (medians)\n`,
);
console.log(
  ['set-up'.padEnd(30), 'intake 202/s', 'end-to-end/s', 'POST p50/p99 ms', 'submit→callback p50/p99 ms', '503s'].join(
    ' | ',
  ),
);
for (const s of setups) {
  console.log(
    [
      s.name.padEnd(30),
      String(med(s.name, 'intakePerSec')).padStart(12),
      String(med(s.name, 'endToEndPerSec')).padStart(12),
      `${med(s.name, 'postP50')}/${med(s.name, 'postP99')}`.padStart(15),
      `${med(s.name, 'e2eP50')}/${med(s.name, 'e2eP99')}`.padStart(26),
      String(med(s.name, 'refused')),
    ].join(' | '),
  );
}
const ratio = (k: (typeof cols)[number], a: Setup) => (med(a.name, k) / med(single.name, k)).toFixed(2);
console.log(
  `\ncluster / single, same run: intake ${ratio('intakePerSec', cluster)}, end to end ${ratio('endToEndPerSec', cluster)}, ` +
    `submit→callback p50 ${ratio('e2eP50', cluster)}, p99 ${ratio('e2eP99', cluster)}`,
);
if (setups.includes(classic)) {
  console.log(
    `classic / quorum (single node): intake ${ratio('intakePerSec', classic)}, end to end ${ratio('endToEndPerSec', classic)}`,
  );
}
console.log(`\nper round:\n${results.map((r) => JSON.stringify(r)).join('\n')}`);
process.exit(0);

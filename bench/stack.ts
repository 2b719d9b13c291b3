/**
 * Starts and stops what the benchmark measures: relay (a backend and a worker
 * on a random RELAY_PREFIX, through the e2e helpers), the bare pipeline, the
 * durable floor, the BullMQ build, the target, and the callback receiver.
 * Everything listens on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import {
  buildCompiled,
  REPO_ROOT,
  startBackend,
  startWorker,
  type RelayProcess,
  type Runtime,
} from '../e2e/support/processes.js';
import { cleanup, randomPrefix, RABBITMQ_URL, REDIS_URL } from '../e2e/support/services.js';
import { CallbackReceiver } from './callback-receiver.js';
import { findServerProcesses, type WatchedProcess } from './process-cost.js';
import { RedisUsage } from './redis-usage.js';

export interface Stack {
  prefix: string;
  relayOrigin: string;
  bareOrigin: string;
  /** The durable floor and the BullMQ build (issue 16): POST /jobs, POST /reset. */
  floorOrigin: string;
  bullmqOrigin: string;
  targetOrigin: string;
  receiver: CallbackReceiver;
  redis: RedisUsage;
  /** The processes whose cost is reported. */
  processes: {
    backend: WatchedProcess;
    worker: WatchedProcess;
    bare: WatchedProcess;
    floor: WatchedProcess;
    bullmq: WatchedProcess;
    target: WatchedProcess;
  };
  /** RabbitMQ's and Redis's server processes, if they run on this machine (whole servers, maybe shared). */
  servers: WatchedProcess[];
  logLevel: string;
  /** Stops everything started (idempotent) and removes the prefix's keys and queues. */
  stop(): Promise<void>;
}

/**
 * How everything the benchmark measures runs. `compiled` (the default): relay
 * from its build (`pnpm build`, `node dist/...js`, as the image runs it), and
 * the bench's own processes (the floor, the BullMQ build, bare, the target)
 * bundled by esbuild into bench/dist/ and run by plain node, so that every
 * system is plain JavaScript. `source` (BENCH_RUNTIME=source): all through
 * tsx, as the benchmark ran before 2026-12-01's sixth run. Measured in
 * docs/benchmarks.md ("The compiled build").
 */
export function benchRuntime(): Runtime {
  return process.env.BENCH_RUNTIME === 'source' ? 'source' : 'compiled';
}

/** bench/<file> bundled (npm packages left as imports) into bench/dist/, once per process. */
const bundles = new Map<string, Promise<string>>();
function bundled(file: string): Promise<string> {
  let out = bundles.get(file);
  if (!out) {
    const outfile = `bench/dist/${file.replace(/\.ts$/, '.mjs')}`;
    out = build({
      absWorkingDir: REPO_ROOT,
      entryPoints: [`bench/${file}`],
      outfile,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'warning',
    }).then(() => outfile);
    bundles.set(file, out);
  }
  return out;
}

/** A bench-only process (bench/<file>, see benchRuntime) that prints `{"port":N}` when it listens. */
export async function startScript(
  file: string,
  env: Record<string, string> = {},
  runtime: Runtime = benchRuntime(),
): Promise<{ child: ChildProcess; port: number }> {
  const args = runtime === 'compiled' ? [await bundled(file)] : ['--import', 'tsx', `bench/${file}`];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start in 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { child, port };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** WORKER_CONCURRENCY (64 by default) for both caps, unless the environment sets them. */
export function relayConcurrency(env: NodeJS.ProcessEnv): {
  HOST_CONCURRENCY: string;
  APPLICATION_CONCURRENCY: string;
} {
  const slots = env.WORKER_CONCURRENCY ?? '64';
  return {
    HOST_CONCURRENCY: env.HOST_CONCURRENCY ?? slots,
    APPLICATION_CONCURRENCY: env.APPLICATION_CONCURRENCY ?? slots,
  };
}

export async function startStack(log: (line: string) => void): Promise<Stack> {
  const prefix = randomPrefix('bench');
  // Info logging writes a few lines per job, and a few lines per job cost
  // more CPU than some of the work measured: the benchmark runs at warn.
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const env = {
    RELAY_PREFIX: prefix,
    RABBITMQ_URL,
    REDIS_URL,
    LOG_LEVEL: logLevel,
    RELAY_AUTH: 'off',
    // The targets and the callback receiver are on loopback, which the SSRF guard refuses by default.
    RELAY_ALLOW_PRIVATE_NETWORKS: '127.0.0.0/8,::1/128',
    // Without auth nothing is rate limited; set anyway in case RELAY_AUTH is changed here.
    RATE_LIMIT_MAX: '10000000',
    // Every job of the benchmark is one application's, to one destination: the
    // per-origin and per-application caps (32 and 48 of 64 slots by default)
    // would only throttle it, where the floor, the BullMQ build and bare run
    // 64 calls at once. Measured: docs/benchmarks.md, "The fairness caps on one
    // destination". Set them in the environment to measure relay with them.
    ...relayConcurrency(process.env),
  };
  const stoppers: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      for (const s of stoppers.reverse()) await s().catch((err: Error) => log(`stop: ${err.message}`));
    })());
  try {
    const redis = await RedisUsage.connect(REDIS_URL, prefix);
    stoppers.push(async () => {
      // Queues and exchanges (and any key left) go through the e2e clean-up;
      // keys first, in batches, so no single DEL names thousands of keys.
      await redis.resetAll();
      redis.close();
      await cleanup(prefix);
    });
    const receiver = await new CallbackReceiver().listen();
    stoppers.push(() => receiver.stop());
    const target = await startScript('target-server.ts');
    stoppers.push(() => stopChild(target.child));
    const bare = await startScript('bare-pipeline.ts');
    stoppers.push(() => stopChild(bare.child));
    // Under the stack's prefix, so the clean-up at the end removes whatever
    // their own (on SIGTERM: queue deleted, BullMQ queue obliterated) left.
    const floor = await startScript('floor/main.ts', { FLOOR_PREFIX: prefix, RABBITMQ_URL, REDIS_URL });
    stoppers.push(() => stopChild(floor.child));
    const bullmq = await startScript('bullmq-build/main.ts', { BULLMQ_PREFIX: prefix, REDIS_URL });
    stoppers.push(() => stopChild(bullmq.child));
    const runtime = benchRuntime();
    if (runtime === 'compiled') {
      log('building relay (pnpm build)');
      await buildCompiled();
    }
    log(`starting relay (prefix ${prefix}, LOG_LEVEL=${logLevel}, ${runtime})`);
    const backend = await startBackend(env, runtime);
    stoppers.push(() => backend.proc.stop());
    const worker: RelayProcess = await startWorker(env, runtime);
    stoppers.push(() => worker.stop());
    return {
      prefix,
      relayOrigin: backend.baseUrl,
      bareOrigin: `http://127.0.0.1:${bare.port}`,
      floorOrigin: `http://127.0.0.1:${floor.port}`,
      bullmqOrigin: `http://127.0.0.1:${bullmq.port}`,
      targetOrigin: `http://127.0.0.1:${target.port}`,
      receiver,
      redis,
      processes: {
        backend: { name: 'backend', pid: backend.proc.child.pid! },
        worker: { name: 'worker', pid: worker.child.pid! },
        bare: { name: 'bare', pid: bare.child.pid! },
        floor: { name: 'floor', pid: floor.child.pid! },
        bullmq: { name: 'bullmq', pid: bullmq.child.pid! },
        target: { name: 'target', pid: target.child.pid! },
      },
      servers: findServerProcesses(),
      logLevel,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

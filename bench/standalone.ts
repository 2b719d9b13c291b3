/**
 * The frame of a benchmark run as its own command (`pnpm bench`, and the
 * single measures such as `pnpm bench:console` and `pnpm bench:events`):
 * starts the stack, runs the measure, stops what it started on success,
 * failure or a signal, and exits with 0, 1 or 130.
 */
import type { Pool } from 'undici';
import type { Context, MeasureSettings, Scenario } from './measures.js';
import { startStack, type Stack } from './stack.js';

export type Log = (line: string) => void;

export async function runStandalone(log: Log, measure: (stack: Stack) => Promise<void>): Promise<never> {
  let stack: Stack | null = null;
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // `on`, not `once`: a Ctrl-C reaches this process twice (from the terminal,
    // and relayed by tsx's CLI), and the second must not end it half-way
    // through removing its queues and keys.
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      log(`${signal}: stopping what the benchmark started`);
      void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  try {
    stack = await startStack(log);
    await measure(stack);
    await stack.stop();
    process.exit(0);
  } catch (err) {
    log(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
    await stack?.stop();
    process.exit(1);
  }
}

/** A log that prefixes each line with the seconds since the command began. */
export function secondsLog(): Log {
  const started = Date.now();
  return (line) => process.stderr.write(`[${Math.round((Date.now() - started) / 1000)} s] ${line}\n`);
}

/**
 * The relay scenario a single measure runs: POSTs of a job to the stack's
 * /ok target with a callback, plus `extra` fields; relay's processes are
 * the ones measured.
 */
export function relayScenario(s: Stack, pool: Pool, name: string, extra: Record<string, unknown> = {}): Scenario {
  return {
    name,
    submitter: {
      pool,
      path: '/api/jobs',
      body: (batch, seq) =>
        JSON.stringify({
          targetUrl: `${s.targetOrigin}/ok`,
          method: 'POST',
          payload: { seq },
          callbackUrl: s.receiver.url(batch, seq),
          ...extra,
        }),
    },
    processes: [s.processes.backend, s.processes.worker, s.processes.target],
    reset: () => s.redis.resetJobs(),
  };
}

/** The measure settings of a single measure: those of `pnpm bench`'s defaults but for what it sets. */
export function standaloneContext(
  s: Stack,
  log: Log,
  settings: Pick<MeasureSettings, 'stepMs' | 'settleTimeoutMs'>,
): Context {
  return {
    receiver: s.receiver,
    log,
    settings: {
      ...settings,
      calibrationStepMs: 1000,
      rampFactor: 1.1,
      latencyRate: 200,
      latencyMs: 1000,
      intakeClients: 64,
      intakeMs: 1000,
    },
  };
}

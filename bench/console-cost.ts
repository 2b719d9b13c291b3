/**
 * `pnpm bench:console`: the console stream's backend CPU at 1,000 jobs/s on
 * its own (bench/console-stream.ts), without the rest of `pnpm bench`, which
 * runs the same measure as its last phase.
 *
 *   pnpm bench:console [--phase-seconds 20] [--pairs 2] [--rate 1000]
 *
 * A low --rate (1) shows the stream's own cost without the noise of the job
 * load: the poller's work does not depend on the rate.
 */
import { parseArgs } from 'node:util';
import { submitPool } from './load-generator.js';
import { runStep, type Context, type Scenario } from './measures.js';
import { consoleStreamCost, describeConsoleStream } from './console-stream.js';
import { startStack, type Stack } from './stack.js';

const { values: args } = parseArgs({
  options: {
    'phase-seconds': { type: 'string', default: '20' },
    pairs: { type: 'string', default: '2' },
    rate: { type: 'string', default: '1000' },
  },
});
const phaseMs = Math.round(Number(args['phase-seconds']) * 1000);
const pairs = Number(args.pairs);
const rate = Number(args.rate);
if (!(phaseMs >= 1000) || !(pairs >= 1) || !(rate >= 1)) {
  console.error('usage: pnpm bench:console [--phase-seconds S >= 1] [--pairs N >= 1] [--rate R >= 1]');
  process.exit(2);
}

const started = Date.now();
const log = (line: string) => process.stderr.write(`[${Math.round((Date.now() - started) / 1000)} s] ${line}\n`);

let stack: Stack | null = null;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // `on`, not `once`: tsx relays a terminal's Ctrl-C a second time (as in main.ts).
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping what the benchmark started`);
    void (stack?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
try {
  stack = await startStack(log);
  const s = stack;
  const pool = submitPool(s.relayOrigin, 128);
  const scenario: Scenario = {
    name: 'relay',
    submitter: {
      pool,
      path: '/api/jobs',
      body: (batch, seq) =>
        JSON.stringify({
          targetUrl: `${s.targetOrigin}/ok`,
          method: 'POST',
          payload: { seq },
          callbackUrl: s.receiver.url(batch, seq),
        }),
    },
    processes: [s.processes.backend, s.processes.worker, s.processes.target],
    reset: () => s.redis.resetJobs(),
  };
  const ctx: Context = {
    receiver: s.receiver,
    log,
    settings: {
      stepMs: phaseMs,
      calibrationStepMs: 1000,
      rampFactor: 1.1,
      latencyRate: 200,
      latencyMs: 1000,
      intakeClients: 64,
      intakeMs: 1000,
      // Both sides of a pair wait the same: a rate this machine cannot sustain costs 20 s, not a minute.
      settleTimeoutMs: 20_000,
    },
  };
  log('warm-up (JIT, connection pools), not recorded');
  await runStep(ctx, scenario, 200, 2000);
  await scenario.reset();
  const result = await consoleStreamCost(ctx, scenario, s.processes.backend, `${s.relayOrigin}/api/console/stream`, {
    phaseMs,
    pairs,
    rate,
  });
  console.log(describeConsoleStream(result));
  console.log(JSON.stringify(result));
  await pool.close();
  await s.stop();
  process.exit(0);
} catch (err) {
  log(`benchmark failed: ${(err as Error).stack ?? String(err)}`);
  await stack?.stop();
  process.exit(1);
}

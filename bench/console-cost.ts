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
import { runStep } from './measures.js';
import { consoleStreamCost, describeConsoleStream } from './console-stream.js';
import { relayScenario, runStandalone, secondsLog, standaloneContext } from './standalone.js';

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

const log = secondsLog();

await runStandalone(log, async (s) => {
  const pool = submitPool(s.relayOrigin, 128);
  const scenario = relayScenario(s, pool, 'relay');
  // Both sides of a pair wait the same: a rate this machine cannot sustain costs 20 s, not a minute.
  const ctx = standaloneContext(s, log, { stepMs: phaseMs, settleTimeoutMs: 20_000 });
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
});

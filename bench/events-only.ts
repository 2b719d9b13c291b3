/**
 * `pnpm bench:events`: job throughput with 0 and with 3 matching
 * subscriptions (bench/events-cost.ts) on its own, without the rest of
 * `pnpm bench`, which runs the same measure as its events phase.
 *
 *   pnpm bench:events [--jobs 2000] [--pairs 3]
 */
import { parseArgs } from 'node:util';
import { submitPool } from './load-generator.js';
import { runStep } from './measures.js';
import { describeEventsCost, EVENTS_COST_METADATA, eventsCost } from './events-cost.js';
import { relayScenario, runStandalone, secondsLog, standaloneContext } from './standalone.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    pairs: { type: 'string', default: '3' },
  },
});
const jobs = Number(args.jobs);
const pairs = Number(args.pairs);
if (!(jobs >= 1) || !(pairs >= 1)) {
  console.error('usage: pnpm bench:events [--jobs N >= 1] [--pairs N >= 1]');
  process.exit(2);
}

const log = secondsLog();

await runStandalone(log, async (s) => {
  const pool = submitPool(s.relayOrigin, 128);
  const scenario = relayScenario(s, pool, 'relay events', { metadata: EVENTS_COST_METADATA });
  const ctx = standaloneContext(s, log, { stepMs: 5000, settleTimeoutMs: 60_000 });
  log('warm-up (JIT, connection pools), not recorded');
  await runStep(ctx, scenario, 200, 2000);
  await scenario.reset();
  const result = await eventsCost(ctx, scenario, s.relayOrigin, { jobs, pairs });
  console.log(describeEventsCost(result));
  console.log(JSON.stringify(result));
  await pool.close();
});

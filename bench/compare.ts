/**
 * `pnpm bench:compare`: phase 5 of `pnpm bench` on its own, issue 16's
 * comparison of relay, the durable floor, the BullMQ build and the bare
 * pipeline in interleaved rounds, with the goals table. Redis bytes per job
 * come from `pnpm bench`'s phase 3 and are not judged here.
 *
 *   pnpm bench:compare [--jobs 10000] [--rounds 2] [--open-seconds 10] [--out DIR]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Pool } from 'undici';
import { REPO_ROOT } from '../e2e/support/processes.js';
import { comparisonPhase, COMPARISON_OPTIONS, comparisonResult, comparisonSettings } from './comparison-phase.js';
import { comparisonTables } from './comparison-report.js';
import { submitPool, type Submitter } from './load-generator.js';
import { runStep, type Scenario } from './measures.js';
import { renderText } from './report.js';
import { relayScenario, runStandalone, secondsLog, standaloneContext } from './standalone.js';

const { values: args } = parseArgs({
  options: { ...COMPARISON_OPTIONS, out: { type: 'string', default: 'bench-results' } },
});
let settings: ReturnType<typeof comparisonSettings>;
try {
  settings = comparisonSettings(args, false);
} catch (err) {
  console.error(`${(err as Error).message}\nusage: pnpm bench:compare [--jobs N] [--rounds N] [--open-seconds S]`);
  process.exit(2);
}

const log = secondsLog();

await runStandalone(log, async (s) => {
  const p = s.processes;
  const relayPool = submitPool(s.relayOrigin, 128);
  const barePool = submitPool(s.bareOrigin, 128);
  /** The benchmark's job (the same as `pnpm bench`'s), POSTed to `/jobs` on `pool`: the floor's, BullMQ's and bare's path. */
  const jobs = (pool: Pool): Submitter => ({ ...relayScenario(s, pool, 'jobs').submitter, path: '/jobs' });
  const relay: Scenario = {
    ...relayScenario(s, relayPool, 'relay'),
    processes: [p.backend, p.worker, p.target, ...s.servers],
  };
  const bare: Scenario = {
    name: 'bare',
    submitter: jobs(barePool),
    processes: [p.bare, p.target, ...s.servers],
    reset: async () => {},
  };
  const ctx = standaloneContext(s, log, { stepMs: 5000, settleTimeoutMs: 60_000 });
  log('warm-up of relay and bare, not recorded');
  for (const sc of [relay, bare]) {
    await runStep(ctx, sc, 200, 2000);
    await sc.reset();
  }
  const runs = await comparisonPhase(ctx, s, { relay, bare }, jobs, settings);
  const result = await comparisonResult(runs, Number.NaN, path.resolve(REPO_ROOT, args.out!));
  console.log(renderText(comparisonTables(result)));
  console.log(JSON.stringify(result.figures));
  await Promise.all([relayPool.close(), barePool.close()]);
});

/**
 * The `pnpm bench` phase of issue 16, kept out of main.ts: the durable
 * floor's and the BullMQ build's scenarios next to relay's and the bare
 * pipeline's, a warm-up, the interleaved rounds (comparison.ts), and, once
 * the rest of the benchmark has its figures, the goals (comparison-report.ts).
 */
import { request } from 'undici';
import { compare, type ComparisonSettings } from './comparison.js';
import { comparisonFigures, comparisonGoals, latestSoak, type ComparisonResult } from './comparison-report.js';
import { submitPool, type Submitter } from './load-generator.js';
import { runStep, type Context, type Scenario } from './measures.js';
import type { Stack } from './stack.js';
import type { Pool } from 'undici';
import type { ComparisonRuns } from './comparison.js';

export const COMPARISON_HELP = `  --jobs N             jobs of each closed loop of the comparison with the floor and BullMQ (default 10000; 1000 with --quick)
  --rounds N           interleaved rounds of that comparison; figures are medians (default 2; 1 with --quick)
  --open-seconds S     length of its open loops at 200 and 800 jobs/s (default 10; 3 with --quick)`;

export const COMPARISON_OPTIONS = {
  jobs: { type: 'string' },
  rounds: { type: 'string' },
  'open-seconds': { type: 'string' },
} as const;

export function comparisonSettings(
  args: { jobs?: string; rounds?: string; 'open-seconds'?: string },
  quick: boolean,
): ComparisonSettings {
  const settings = {
    jobs: Number(args.jobs ?? (quick ? 1000 : 10_000)),
    clients: 64,
    rounds: Number(args.rounds ?? (quick ? 1 : 2)),
    rates: [200, 800],
    openMs: Math.round(1000 * Number(args['open-seconds'] ?? (quick ? 3 : 10))),
  };
  if (!(settings.jobs >= 100 && settings.rounds >= 1 && settings.openMs >= 500)) {
    throw new Error('invalid --jobs (at least 100), --rounds (at least 1) or --open-seconds (at least 0.5)');
  }
  return settings;
}

/** POST /reset: the floor and the BullMQ build empty their store between measures. */
async function reset(origin: string): Promise<void> {
  const res = await request(`${origin}/reset`, { method: 'POST' });
  await res.body.dump();
  if (res.statusCode !== 204) throw new Error(`${origin}/reset answered ${res.statusCode}`);
}

export async function comparisonPhase(
  ctx: Context,
  stack: Stack,
  systems: { relay: Scenario; bare: Scenario },
  /** The benchmark's job body, POSTed to `/jobs` on `pool`. */
  submitter: (pool: Pool) => Submitter,
  settings: ComparisonSettings,
): Promise<ComparisonRuns> {
  const p = stack.processes;
  const pools = [submitPool(stack.floorOrigin, 128), submitPool(stack.bullmqOrigin, 128)] as const;
  const floor: Scenario = {
    name: 'floor',
    submitter: submitter(pools[0]),
    processes: [p.floor, p.target, ...stack.servers],
    reset: () => reset(stack.floorOrigin),
  };
  const bullmq: Scenario = {
    name: 'bullmq',
    submitter: submitter(pools[1]),
    processes: [p.bullmq, p.target, ...stack.servers],
    reset: () => reset(stack.bullmqOrigin),
  };
  try {
    ctx.log('warm-up of the floor and the BullMQ build, not recorded');
    for (const s of [floor, bullmq]) {
      await runStep(ctx, s, 100, 2000);
      await s.reset();
    }
    return await compare(
      ctx,
      {
        relay: { scenario: systems.relay, own: [p.backend.name, p.worker.name] },
        floor: { scenario: floor, own: [p.floor.name] },
        bullmq: { scenario: bullmq, own: [p.bullmq.name] },
        bare: { scenario: systems.bare, own: [p.bare.name] },
      },
      settings,
    );
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
}

/** Figures and goals, once the rest of the benchmark has measured Redis bytes per job. */
export async function comparisonResult(
  runs: ComparisonRuns,
  redisBytesPerJob: number,
  resultsDir: string,
): Promise<ComparisonResult> {
  const figures = comparisonFigures(runs);
  const goals = comparisonGoals(figures, { redisBytesPerJob, soak: await latestSoak(resultsDir) });
  return { runs, figures, goals };
}

import { startStack } from '../../support/stack.js';
import { CallbackReceiver, FaultTarget } from '../../faults/support/fault-servers.js';
import { judge, waitUntilFinal, type FaultRow } from '../../faults/support/ledger.js';
import { submitJobs, type Submission } from '../../faults/support/load.js';

/**
 * One Redis failover under load: a backend and a worker on the HA Redis
 * (`env` points them at it), jobs submitted at a fixed rate, the master killed
 * part-way, restarted a few seconds later as a process supervisor would, and
 * the run judged from what the target and the callback receiver saw
 * (e2e/faults/support/ledger.ts). A shared load helper may replace the
 * driver here (e2e/ha/support/load.ts); the ledger is the fault suite's.
 */

export interface FailoverOptions {
  label: string;
  /** REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ name), REDIS_WAIT_REPLICAS, ... */
  env: Record<string, string>;
  /** Kills the master; returns which it was. */
  kill: () => Promise<string>;
  /** Starts the killed node again (it rejoins as a replica). */
  restore: () => Promise<void>;
  jobs?: number;
  perSecond?: number;
  /** When to kill, in seconds after the load starts. @defaultValue 5 */
  killAfterS?: number;
  /** How long the killed node stays down (s). @defaultValue 5 */
  downS?: number;
  progress: (text: string) => void;
}

export interface FailoverRow extends FaultRow {
  /** Longest time between two consecutive 202 answers (ms). */
  longestGapMs: number;
  /** 503 answers (the rest of `refused` are other codes or no answer). */
  refused503: number;
  killed: string;
}

/**
 * Longest time without a 202 answer, by the time each answer came, from the
 * first submission to the last (so a run whose 202s stop for good shows the
 * whole tail as its gap). Pure.
 */
export function longestGapMs(submissions: Submission[]): number {
  if (submissions.length === 0) return 0;
  const first = Math.min(...submissions.map((s) => s.at));
  const last = Math.max(...submissions.map((s) => s.at));
  const answered = [
    first,
    ...submissions
      .filter((s) => s.status === 202)
      .map((s) => s.at + s.ms)
      .sort((a, b) => a - b),
    last,
  ];
  let longest = 0;
  for (let i = 1; i < answered.length; i++) longest = Math.max(longest, answered[i]! - answered[i - 1]!);
  return Math.round(longest);
}

export async function runFailover(o: FailoverOptions): Promise<FailoverRow> {
  const jobs = o.jobs ?? 4000;
  const perSecond = o.perSecond ?? 200;
  const target = await new FaultTarget().listen();
  const callbacks = await new CallbackReceiver().listen();
  const stack = await startStack(`ha-${o.label.replace(/[^A-Za-z0-9]+/g, "-")}`, {
    env: { LOG_LEVEL: 'warn', CALLBACK_RETRY_DELAY_MS: '200', RECONCILE_INTERVAL_MS: '1000', RECONCILE_GRACE_MS: '10000', ...o.env },
  });
  try {
    const startedAt = Date.now();
    o.progress(`${o.label}: ${jobs} jobs at ${perSecond}/s; master killed after ${o.killAfterS ?? 5} s`);
    const load = submitJobs({
      baseUrl: () => stack.api.baseUrl,
      count: jobs,
      perSecond,
      spec: () => ({ targetUrl: target.url('ok'), callbackUrl: callbacks.url, retryDelay: 200, maxRetries: 5 }),
      onProgress: (n) => (n % 1000 === 0 ? o.progress(`  submitted ${n}`) : undefined),
    });
    await new Promise((r) => setTimeout(r, (o.killAfterS ?? 5) * 1000));
    const killed = await o.kill();
    o.progress(`  killed ${killed}`);
    await new Promise((r) => setTimeout(r, (o.downS ?? 5) * 1000));
    await o.restore();
    o.progress('  killed node back (as a replica)');
    const submissions = await load;
    await waitUntilFinal(submissions, callbacks, 120_000, o.progress);
    const row = judge(o.label, submissions, target, callbacks, startedAt);
    return {
      ...row,
      longestGapMs: longestGapMs(submissions),
      refused503: submissions.filter((s) => s.status === 503).length,
      killed,
    };
  } finally {
    await stack.stop().catch(() => undefined);
    await Promise.all([target.close(), callbacks.close()]);
  }
}

export function formatFailoverTable(rows: FailoverRow[]): string {
  const header = ['scenario', 'accepted 202', 'refused 503', 'refused other', 'lost', 'dup target calls', 'dup callbacks', 'longest gap in 202s ms', 'slowest refusal ms', 's'];
  const lines = rows.map((r) => [
    r.scenario,
    r.accepted,
    r.refused503,
    r.refused - r.refused503,
    r.lost,
    r.duplicateTargetCalls,
    r.duplicateCallbacks,
    r.longestGapMs,
    r.slowestRefusalMs,
    r.seconds,
  ]);
  return [header, header.map(() => '---'), ...lines].map((c) => `| ${c.join(' | ')} |`).join('\n');
}

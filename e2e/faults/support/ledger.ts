import type { CallbackReceiver, FaultTarget } from './fault-servers.js';
import type { Submission } from './load.js';

/**
 * What a fault scenario is judged on, from what the load driver, the target
 * and the callback receiver saw:
 * - accepted: submissions answered 202;
 * - lost: accepted jobs with no final callback (completed, failed or cancelled);
 * - duplicate target calls: calls beyond those the job needs without a fault
 *   (at-least-once lets a crash repeat an attempt);
 * - calls for refused submissions: the target was called for a job whose
 *   submission did not get a 202 (the broker had it but the answer was lost);
 * - duplicate callbacks: callbacks beyond the first per job.
 */
export interface FaultRow {
  scenario: string;
  accepted: number;
  refused: number;
  lost: number;
  duplicateTargetCalls: number;
  callsForRefused: number;
  duplicateCallbacks: number;
  /** Longest answer to a refused submission (ms): how long clients hung during the fault. */
  slowestRefusalMs: number;
  seconds: number;
  notes: string;
}

const FINAL = new Set(['completed', 'failed', 'cancelled']);

export function judge(
  scenario: string,
  submissions: Submission[],
  target: FaultTarget,
  callbacks: CallbackReceiver,
  startedAt: number,
  notes = '',
  /** Target calls a job needs without any fault (its retries included). */
  expectedCalls: (seq: number) => number = () => 1,
): FaultRow {
  const accepted = submissions.filter((s) => s.status === 202);
  const refused = submissions.filter((s) => s.status !== 202);
  const perJob = callbacks.perJob();
  const lost = accepted.filter((s) => !(perJob.get(s.jobId!) ?? []).some((cb) => FINAL.has(cb.status)));
  let duplicateTargetCalls = 0;
  for (const s of accepted) duplicateTargetCalls += Math.max(0, (target.calls.get(s.seq) ?? 0) - expectedCalls(s.seq));
  const callsForRefused = refused.filter((s) => (target.calls.get(s.seq) ?? 0) > 0).length;
  let duplicateCallbacks = 0;
  for (const s of accepted) duplicateCallbacks += Math.max(0, (perJob.get(s.jobId!)?.length ?? 0) - 1);
  return {
    scenario,
    accepted: accepted.length,
    refused: refused.length,
    lost: lost.length,
    duplicateTargetCalls,
    callsForRefused,
    duplicateCallbacks,
    slowestRefusalMs: Math.round(Math.max(0, ...refused.map((s) => s.ms))),
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    notes,
  };
}

/** Accepted jobs that have no final callback yet. */
/** Waits until every accepted job has a final callback, or `timeoutMs`; reports what is left every 5 s. */
export async function waitUntilFinal(
  submissions: Submission[],
  callbacks: CallbackReceiver,
  timeoutMs: number,
  report: (text: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const left = unfinished(submissions, callbacks).length;
    if (left === 0 || Date.now() > deadline) return;
    if (Date.now() - lastReport > 5000) {
      report(`  waiting for ${left} jobs to finish`);
      lastReport = Date.now();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function unfinished(submissions: Submission[], callbacks: CallbackReceiver): Submission[] {
  const perJob = callbacks.perJob();
  return submissions.filter(
    (s) => s.status === 202 && !(perJob.get(s.jobId!) ?? []).some((cb) => FINAL.has(cb.status)),
  );
}

export function formatTable(rows: FaultRow[]): string {
  const header = [
    'scenario',
    'accepted',
    'refused',
    'lost',
    'dup target calls',
    'calls for refused',
    'dup callbacks',
    'slowest refusal ms',
    's',
    'notes',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.accepted,
    r.refused,
    r.lost,
    r.duplicateTargetCalls,
    r.callsForRefused,
    r.duplicateCallbacks,
    r.slowestRefusalMs,
    r.seconds,
    r.notes,
  ]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

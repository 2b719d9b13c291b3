import { FINAL_STATUSES } from '@relay/common';

/**
 * What an HA scenario is judged on, computed from what was recorded during
 * the run and nothing else (no I/O here, so it is unit-tested on made-up
 * events: e2e/ha/support/load-report.test.ts). The recording is in load.ts.
 */

/** One POST /api/jobs, as the load driver saw it. Times are epoch ms. */
export interface SubmissionRecord {
  seq: number;
  sentAt: number;
  answeredAt: number;
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** From a 202's body; also from a 503 RELAY_ERR_ACCEPT_UNCERTAIN, which names the job that may run. */
  jobId: string | null;
  /** The error body's code, or the client's error code when no answer came. */
  code: string | null;
}

/** One request the target received from a worker (its relay-job-id and relay-attempt headers). */
export interface Delivery {
  jobId: string;
  attempt: number;
  at: number;
}

export interface LoadEvents {
  /** When the load started (epoch ms): the timeline's zero. */
  startedAt: number;
  submissions: SubmissionRecord[];
  deliveries: Delivery[];
  /** Last status GET /api/job/:id gave per job id; a job never read is absent. */
  statuses: ReadonlyMap<string, string>;
  /** What the scenario did when (e.g. "stopped the leader"), shown on the timeline. */
  marks: { at: number; label: string }[];
}

/** One second of the run, by answer time. */
export interface TimelineSecond {
  /** Seconds since the start. */
  second: number;
  accepted: number;
  refused503: number;
  otherErrors: number;
  /** Labels of the marks made in this second. */
  marks: string[];
}

export interface LoadReport {
  submitted: number;
  /** Answered 202 with a job id. */
  accepted: number;
  refused503: number;
  /** Every other outcome: a status other than 202 and 503, or no answer at all. */
  otherErrors: number;
  /** The part of otherErrors that got no HTTP answer. */
  networkErrors: number;
  /** Accepted jobs the target saw at least once. */
  delivered: number;
  /** Accepted jobs that did not reach a final status, or that the target never saw. */
  lost: number;
  lostJobIds: string[];
  /**
   * Accepted jobs the target saw more than once. The target always answers
   * 200, so a job needs exactly one delivery: a second one is at-least-once
   * showing (a redelivery after a node failed), not a retry.
   */
  duplicates: number;
  duplicateJobIds: string[];
  /** Deliveries beyond the first, over all jobs. */
  extraDeliveries: number;
  /** Jobs the target saw whose submission got no 202 (e.g. a 503 RELAY_ERR_ACCEPT_UNCERTAIN that did run). */
  deliveredNotAccepted: number;
  /** Longest time between two consecutive 202 answers (0 with fewer than two), and where it was. */
  longestGapMs: number;
  longestGap: { fromMs: number; toMs: number } | null;
  /** Final statuses of the accepted jobs, e.g. { completed: 5990, failed: 2 }. */
  finalStatuses: Record<string, number>;
  timeline: TimelineSecond[];
}

const FINAL: ReadonlySet<string> = new Set(FINAL_STATUSES);

type Outcome = 'accepted' | 'refused503' | 'other';

function outcome(s: SubmissionRecord): Outcome {
  if (s.status === 202 && s.jobId) return 'accepted';
  if (s.status === 503) return 'refused503';
  return 'other';
}

export function loadReport(events: LoadEvents): LoadReport {
  const accepted = events.submissions.filter((s) => outcome(s) === 'accepted');
  const acceptedIds = new Set(accepted.map((s) => s.jobId!));

  const seen = new Map<string, number>();
  for (const d of events.deliveries) seen.set(d.jobId, (seen.get(d.jobId) ?? 0) + 1);

  const lostJobIds: string[] = [];
  const duplicateJobIds: string[] = [];
  const finalStatuses: Record<string, number> = {};
  let extraDeliveries = 0;
  let delivered = 0;
  for (const id of acceptedIds) {
    const status = events.statuses.get(id);
    const times = seen.get(id) ?? 0;
    if (times > 0) delivered++;
    if (!status || !FINAL.has(status) || times === 0) lostJobIds.push(id);
    if (status && FINAL.has(status)) finalStatuses[status] = (finalStatuses[status] ?? 0) + 1;
    if (times > 1) {
      duplicateJobIds.push(id);
      extraDeliveries += times - 1;
    }
  }
  let deliveredNotAccepted = 0;
  for (const id of seen.keys()) if (!acceptedIds.has(id)) deliveredNotAccepted++;

  const answers = accepted.map((s) => s.answeredAt).sort((a, b) => a - b);
  let longestGap: LoadReport['longestGap'] = null;
  let longestGapMs = 0;
  for (let i = 1; i < answers.length; i++) {
    const gap = answers[i]! - answers[i - 1]!;
    if (longestGap === null || gap > longestGapMs) {
      longestGapMs = gap;
      longestGap = { fromMs: answers[i - 1]! - events.startedAt, toMs: answers[i]! - events.startedAt };
    }
  }

  const refused503 = events.submissions.filter((s) => outcome(s) === 'refused503').length;
  const other = events.submissions.filter((s) => outcome(s) === 'other');
  return {
    submitted: events.submissions.length,
    accepted: accepted.length,
    refused503,
    otherErrors: other.length,
    networkErrors: other.filter((s) => s.status === 0).length,
    delivered,
    lost: lostJobIds.length,
    lostJobIds,
    duplicates: duplicateJobIds.length,
    duplicateJobIds,
    extraDeliveries,
    deliveredNotAccepted,
    longestGapMs,
    longestGap,
    finalStatuses,
    timeline: timeline(events),
  };
}

/** Outcomes per second of answer time, from the start to the last answer or mark; empty seconds included. */
function timeline(events: LoadEvents): TimelineSecond[] {
  const secondOf = (at: number) => Math.max(0, Math.floor((at - events.startedAt) / 1000));
  const last = Math.max(
    -1,
    ...events.submissions.map((s) => secondOf(s.answeredAt)),
    ...events.marks.map((m) => secondOf(m.at)),
  );
  const out: TimelineSecond[] = Array.from({ length: last + 1 }, (_, second) => ({
    second,
    accepted: 0,
    refused503: 0,
    otherErrors: 0,
    marks: [],
  }));
  for (const s of events.submissions) {
    const row = out[secondOf(s.answeredAt)]!;
    const o = outcome(s);
    if (o === 'accepted') row.accepted++;
    else if (o === 'refused503') row.refused503++;
    else row.otherErrors++;
  }
  for (const m of events.marks) out[secondOf(m.at)]!.marks.push(m.label);
  return out;
}

/**
 * The report as a few lines for a test's output: the counts, the longest gap,
 * and the timeline's seconds that are not all 202s or that carry a mark
 * (a steady second is one number among many; the fault is what matters).
 */
export function formatReport(title: string, r: LoadReport): string {
  const lines = [
    `${title}: submitted ${r.submitted}, accepted ${r.accepted}, refused 503 ${r.refused503}, ` +
      `other errors ${r.otherErrors} (no answer ${r.networkErrors}), delivered ${r.delivered}, lost ${r.lost}, ` +
      `duplicates ${r.duplicates} ` +
      `(${r.extraDeliveries} extra deliveries), delivered without 202 ${r.deliveredNotAccepted}`,
    `  longest gap between 202s: ${r.longestGapMs} ms` +
      (r.longestGap
        ? ` (from ${(r.longestGap.fromMs / 1000).toFixed(1)} s to ${(r.longestGap.toMs / 1000).toFixed(1)} s)`
        : ''),
    `  final statuses: ${JSON.stringify(r.finalStatuses)}`,
  ];
  for (const t of r.timeline) {
    if (t.refused503 === 0 && t.otherErrors === 0 && t.marks.length === 0) continue;
    const marks = t.marks.length ? `  <- ${t.marks.join('; ')}` : '';
    lines.push(
      `  ${String(t.second).padStart(4)} s: 202 ${t.accepted}, 503 ${t.refused503}, other ${t.otherErrors}${marks}`,
    );
  }
  return lines.join('\n');
}

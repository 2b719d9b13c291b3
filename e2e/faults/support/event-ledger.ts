/**
 * What the events fault scenario is judged on: for every finished job, the
 * events its final history implies, and whether each destination received
 * each of them at least once, duplicates under one `webhook-id`. Pure, so
 * that the judgement itself is tested (event-ledger.test.ts).
 */

/** The part of a job view (GET /api/job/:id) the expected events follow from. */
export interface JobHistory {
  jobId: string;
  status: string;
  attemptsLog: { attempt: number; success: boolean }[];
}

export interface ExpectedEvent {
  event: string;
  sequence: number;
}

/** One delivery as a receiver saw it. */
export interface SeenEvent {
  destination: string;
  jobId: string | null;
  event: string;
  sequence: number;
  webhookId: string;
}

/**
 * created, then per recorded attempt `a` started (4a) and its result (4a+1):
 * retrying for every attempt but the last, which ends the job as completed
 * or failed (sequence numbers: eventSequence in @relay/common).
 */
export function expectedEvents(job: JobHistory): ExpectedEvent[] {
  const out: ExpectedEvent[] = [{ event: 'created', sequence: 1 }];
  const attempts = [...job.attemptsLog].sort((x, y) => x.attempt - y.attempt);
  attempts.forEach((a, i) => {
    out.push({ event: 'started', sequence: 4 * a.attempt });
    const last = i === attempts.length - 1;
    out.push({ event: last ? job.status : 'retrying', sequence: 4 * a.attempt + 1 });
  });
  return out;
}

export interface EventJudgement {
  expected: number;
  received: number;
  /** `destination jobId event#sequence` of every expected event that never arrived. */
  missing: string[];
  /** Deliveries beyond the first of one event to one destination. */
  duplicates: number;
  /** Events delivered to one destination under more than one webhook-id. */
  conflictingIds: string[];
  /** Deliveries whose event name differs from the one the history implies at that sequence. */
  mislabelled: string[];
}

export function judgeEvents(jobs: JobHistory[], destinations: string[], seen: SeenEvent[]): EventJudgement {
  const byKey = new Map<string, SeenEvent[]>();
  for (const s of seen) {
    const key = `${s.destination} ${s.jobId} #${s.sequence}`;
    byKey.set(key, [...(byKey.get(key) ?? []), s]);
  }
  const missing: string[] = [];
  const mislabelled: string[] = [];
  let expected = 0;
  for (const job of jobs) {
    for (const e of expectedEvents(job)) {
      for (const destination of destinations) {
        expected++;
        const got = byKey.get(`${destination} ${job.jobId} #${e.sequence}`) ?? [];
        if (got.length === 0) missing.push(`${destination} ${job.jobId} ${e.event}#${e.sequence}`);
        else if (got.some((g) => g.event !== e.event)) mislabelled.push(`${destination} ${job.jobId} #${e.sequence}`);
      }
    }
  }
  let duplicates = 0;
  const conflictingIds: string[] = [];
  for (const [key, copies] of byKey) {
    duplicates += copies.length - 1;
    if (new Set(copies.map((c) => c.webhookId)).size > 1) conflictingIds.push(key);
  }
  return { expected, received: seen.length, missing, duplicates, conflictingIds, mislabelled };
}

import { describe, expect, it } from 'vitest';
import { formatReport, loadReport, type Delivery, type LoadEvents, type SubmissionRecord } from './load-report.js';

const T0 = 1_700_000_000_000;

let seq = 0;
/** A submission answered `afterMs` after the start, 5 ms after it was sent. */
function sub(
  afterMs: number,
  status: number,
  jobId: string | null = null,
  code: string | null = null,
): SubmissionRecord {
  return { seq: seq++, sentAt: T0 + afterMs - 5, answeredAt: T0 + afterMs, status, jobId, code };
}

function delivered(jobId: string, attempt = 1, afterMs = 0): Delivery {
  return { jobId, attempt, at: T0 + afterMs };
}

function events(partial: Partial<LoadEvents>): LoadEvents {
  return { startedAt: T0, submissions: [], deliveries: [], statuses: new Map(), marks: [], ...partial };
}

describe('loadReport', () => {
  it('counts each outcome once: 202 with a job id, 503, other statuses and no answer', () => {
    const r = loadReport(
      events({
        submissions: [
          sub(10, 202, 'a'),
          sub(20, 503, null, 'RELAY_ERR_UNAVAILABLE'),
          sub(30, 503, 'u', 'RELAY_ERR_ACCEPT_UNCERTAIN'),
          sub(40, 500, null, 'RELAY_ERR_INTERNAL'),
          sub(50, 0, null, 'ECONNREFUSED'),
          sub(60, 202, null), // a 202 without a job id cannot be followed: not counted as accepted
        ],
        deliveries: [delivered('a')],
        statuses: new Map([['a', 'completed']]),
      }),
    );
    expect(r).toMatchObject({ submitted: 6, accepted: 1, refused503: 2, otherErrors: 3, networkErrors: 1, lost: 0 });
  });

  it('counts as lost an accepted job that is not final, never read, or never seen by the target', () => {
    const r = loadReport(
      events({
        submissions: [
          sub(1, 202, 'done'),
          sub(2, 202, 'queued'),
          sub(3, 202, 'unread'),
          sub(4, 202, 'never-delivered'),
          sub(5, 202, 'failed'),
        ],
        deliveries: [delivered('done'), delivered('queued'), delivered('unread'), delivered('failed')],
        statuses: new Map([
          ['done', 'completed'],
          ['queued', 'queued'],
          ['never-delivered', 'completed'],
          ['failed', 'failed'],
        ]),
      }),
    );
    expect(r.lost).toBe(3);
    expect(r.delivered).toBe(4);
    expect(r.lostJobIds.sort()).toEqual(['never-delivered', 'queued', 'unread']);
    expect(r.finalStatuses).toEqual({ completed: 2, failed: 1 });
  });

  it('counts jobs the target saw more than once, their extra deliveries, and deliveries of jobs never accepted', () => {
    const r = loadReport(
      events({
        submissions: [sub(1, 202, 'once'), sub(2, 202, 'twice'), sub(3, 202, 'thrice'), sub(4, 503, 'uncertain')],
        deliveries: [
          delivered('once'),
          delivered('twice', 1),
          delivered('twice', 1),
          delivered('thrice', 1),
          delivered('thrice', 1),
          delivered('thrice', 2),
          delivered('uncertain'),
        ],
        statuses: new Map(['once', 'twice', 'thrice'].map((id) => [id, 'completed'])),
      }),
    );
    expect(r.duplicates).toBe(2);
    expect(r.duplicateJobIds.sort()).toEqual(['thrice', 'twice']);
    expect(r.extraDeliveries).toBe(3);
    expect(r.deliveredNotAccepted).toBe(1);
    expect(r.delivered).toBe(3);
    expect(r.lost).toBe(0);
  });

  it('finds the longest gap between consecutive 202 answers, in answer order, ignoring refusals inside it', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const r = loadReport(
      events({
        // Recorded in submission order; answers came back out of order.
        submissions: [sub(100, 202, 'a'), sub(2600, 202, 'd'), sub(150, 202, 'b'), sub(900, 503), sub(400, 202, 'c')],
        deliveries: ids.map((id) => delivered(id)),
        statuses: new Map(ids.map((id) => [id, 'completed'])),
      }),
    );
    expect(r.longestGapMs).toBe(2200);
    expect(r.longestGap).toEqual({ fromMs: 400, toMs: 2600 });
  });

  it('has no gap with fewer than two 202s', () => {
    expect(loadReport(events({ submissions: [sub(5, 503)] }))).toMatchObject({ longestGapMs: 0, longestGap: null });
    expect(loadReport(events({ submissions: [sub(5, 202, 'a')] }))).toMatchObject({
      longestGapMs: 0,
      longestGap: null,
    });
  });

  it('lays outcomes and marks out per second of answer time, empty seconds included', () => {
    const r = loadReport(
      events({
        submissions: [sub(100, 202, 'a'), sub(999, 202, 'b'), sub(2100, 503), sub(2200, 0), sub(3500, 202, 'c')],
        marks: [{ at: T0 + 2050, label: 'stopped node 1' }],
      }),
    );
    expect(r.timeline).toEqual([
      { second: 0, accepted: 2, refused503: 0, otherErrors: 0, marks: [] },
      { second: 1, accepted: 0, refused503: 0, otherErrors: 0, marks: [] },
      { second: 2, accepted: 0, refused503: 1, otherErrors: 1, marks: ['stopped node 1'] },
      { second: 3, accepted: 1, refused503: 0, otherErrors: 0, marks: [] },
    ]);
    const text = formatReport('leader stop', r);
    expect(text).toContain('accepted 3, refused 503 1, other errors 1 (no answer 1)');
    expect(text).toContain('2 s: 202 0, 503 1, other 1  <- stopped node 1');
    // Steady seconds are left out of the text.
    expect(text).not.toMatch(/^\s+0 s:/m);
  });

  it('reports nothing for an empty run', () => {
    expect(loadReport(events({}))).toMatchObject({ submitted: 0, accepted: 0, lost: 0, duplicates: 0, timeline: [] });
  });
});

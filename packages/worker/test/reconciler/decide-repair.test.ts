import { describe, expect, it } from 'vitest';
import type { DeadlineJob, OverdueEntry } from '@relay/common';
import { decideRepair, nextLookMs } from '../../src/reconciler/decide-repair.js';

const NOW = 1_000_000;
const GRACE = 10_000;

function entry(job: Partial<DeadlineJob> | null, deadlineMs = NOW - GRACE - 1): OverdueEntry {
  if (job === null) return { jobId: 'j', application: 'default', deadlineMs, job: null };
  return {
    jobId: 'j',
    application: 'default',
    deadlineMs,
    job: {
      status: 'queued',
      attempts: 0,
      leaseUntil: null,
      nextAttemptAt: null,
      callback: null,
      application: null,
      seriesBase: 0,
      requestId: null,
      replays: 0,
      ...job,
    },
  };
}

const openCallback = (status: 'pending' | 'retrying' | 'delivered' | 'failed', nextAttemptAt: string | null) => ({
  status,
  statusCode: null,
  attempts: 2,
  error: null,
  lastAttemptAt: null,
  nextAttemptAt,
});

describe('decideRepair', () => {
  it('drops a job that is gone', () => {
    expect(decideRepair(entry(null), NOW, GRACE)).toEqual({ kind: 'drop' });
  });

  it('republishes the next attempt of a queued job past its deadline plus the grace', () => {
    expect(decideRepair(entry({ status: 'queued', attempts: 3 }), NOW, GRACE)).toEqual({
      kind: 'attempt',
      reason: 'queued',
      attempt: 4,
    });
    expect(decideRepair(entry({ status: 'queued' }, NOW - GRACE + 1), NOW, GRACE)).toEqual({
      kind: 'wait',
      deadlineMs: NOW - GRACE + 1,
    });
  });

  it('judges a retrying job by its due time, not a stale index score', () => {
    const late = entry({ status: 'retrying', attempts: 2, nextAttemptAt: NOW - GRACE });
    expect(decideRepair(late, NOW, GRACE)).toEqual({ kind: 'attempt', reason: 'retrying', attempt: 3 });
    const notYet = entry({ status: 'retrying', attempts: 2, nextAttemptAt: NOW + 5 });
    expect(decideRepair(notYet, NOW, GRACE)).toEqual({ kind: 'wait', deadlineMs: NOW + 5 });
  });

  it('republishes a running job only once its lease plus the grace has passed', () => {
    const expired = entry({ status: 'in_progress', attempts: 1, leaseUntil: NOW - GRACE });
    expect(decideRepair(expired, NOW, GRACE)).toEqual({ kind: 'attempt', reason: 'in_progress', attempt: 2 });
    const held = entry({ status: 'in_progress', attempts: 1, leaseUntil: NOW - 1 });
    expect(decideRepair(held, NOW, GRACE)).toEqual({ kind: 'wait', deadlineMs: NOW - 1 });
  });

  it('republishes the next delivery of an open callback of a final job, and drops a settled one', () => {
    const pending = entry({ status: 'completed', callback: openCallback('pending', null) });
    expect(decideRepair(pending, NOW, GRACE)).toEqual({ kind: 'callback', delivery: 3 });
    const due = new Date(NOW + 1000).toISOString();
    const retrying = entry({ status: 'failed', callback: openCallback('retrying', due) });
    expect(decideRepair(retrying, NOW, GRACE)).toEqual({ kind: 'wait', deadlineMs: NOW + 1000 });
    for (const settled of ['delivered', 'failed'] as const) {
      const e = entry({ status: 'cancelled', callback: openCallback(settled, null) });
      expect(decideRepair(e, NOW, GRACE)).toEqual({ kind: 'drop' });
    }
    expect(decideRepair(entry({ status: 'completed' }), NOW, GRACE)).toEqual({ kind: 'drop' });
  });
});

describe('nextLookMs', () => {
  it('looks again one grace after the first repair, doubling after each further one, capped', () => {
    // The index score is a deadline: the next repair comes one grace after it.
    expect(nextLookMs(NOW, GRACE, 1)).toBe(NOW);
    expect(nextLookMs(NOW, GRACE, 2)).toBe(NOW + GRACE);
    expect(nextLookMs(NOW, GRACE, 3)).toBe(NOW + 3 * GRACE);
    expect(nextLookMs(NOW, GRACE, 100)).toBe(NOW + 31 * GRACE);
  });
});

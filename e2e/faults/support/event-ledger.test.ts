import { describe, expect, it } from 'vitest';
import { expectedEvents, judgeEvents, type JobHistory, type SeenEvent } from './event-ledger.js';

const retriedOnce: JobHistory = {
  jobId: 'j1',
  status: 'completed',
  attemptsLog: [
    { attempt: 2, success: true },
    { attempt: 1, success: false },
  ],
};

const seen = (destination: string, event: string, sequence: number, webhookId = `${destination}-${sequence}`) =>
  ({ destination, jobId: 'j1', event, sequence, webhookId }) satisfies SeenEvent;

const complete = (destination: string) => [
  seen(destination, 'created', 1),
  seen(destination, 'started', 4),
  seen(destination, 'retrying', 5),
  seen(destination, 'started', 8),
  seen(destination, 'completed', 9),
];

describe('expectedEvents', () => {
  it('follows the attempts, the last one ending the job', () => {
    expect(expectedEvents(retriedOnce)).toEqual([
      { event: 'created', sequence: 1 },
      { event: 'started', sequence: 4 },
      { event: 'retrying', sequence: 5 },
      { event: 'started', sequence: 8 },
      { event: 'completed', sequence: 9 },
    ]);
    expect(expectedEvents({ jobId: 'j', status: 'failed', attemptsLog: [{ attempt: 1, success: false }] })).toEqual([
      { event: 'created', sequence: 1 },
      { event: 'started', sequence: 4 },
      { event: 'failed', sequence: 5 },
    ]);
  });
});

describe('judgeEvents', () => {
  it('passes a complete history with duplicates under one webhook-id', () => {
    const j = judgeEvents(
      [retriedOnce],
      ['wh', 'sub'],
      [...complete('wh'), ...complete('sub'), seen('wh', 'started', 8)],
    );
    expect(j).toEqual({ expected: 10, received: 11, missing: [], duplicates: 1, conflictingIds: [], mislabelled: [] });
  });

  it('names a missing event per destination', () => {
    const j = judgeEvents([retriedOnce], ['wh', 'sub'], [...complete('wh'), ...complete('sub').slice(0, 4)]);
    expect(j.missing).toEqual(['sub j1 completed#9']);
  });

  it('names a duplicate under another webhook-id, and an event under the wrong name', () => {
    const j = judgeEvents(
      [retriedOnce],
      ['wh'],
      [...complete('wh'), seen('wh', 'created', 1, 'other-id'), seen('wh', 'failed', 9)],
    );
    expect(j.conflictingIds).toEqual(['wh j1 #1']);
    expect(j.mislabelled).toEqual(['wh j1 #9']);
    expect(j.duplicates).toBe(2);
  });
});

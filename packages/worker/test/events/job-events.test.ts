import { describe, expect, it } from 'vitest';
import { eventSequence, type JobSpec } from '@relay/common';
import {
  cancelledBeforeEvent,
  effectiveWebhooks,
  endEvents,
  retryingEvent,
  startedEvent,
} from '../../src/events/job-events.js';

const spec = { targetUrl: 'http://127.0.0.1:9/t', webhooks: { completed: 'http://127.0.0.1:9/spec' } } as JobSpec;
const entry = {
  attempt: 3,
  statusCode: 500,
  response: null,
  error: { code: 'RELAY_ERR_HTTP_STATUS', message: 'target answered 500' },
};

describe("the worker's job events", () => {
  it("take the stored webhooks map over the spec's, and the spec's without one", () => {
    expect(effectiveWebhooks({ '*': 'http://127.0.0.1:9/all' }, spec)).toEqual({ '*': 'http://127.0.0.1:9/all' });
    expect(effectiveWebhooks({}, spec)).toEqual({});
    expect(effectiveWebhooks(null, spec)).toEqual(spec.webhooks);
    expect(effectiveWebhooks(null, { ...spec, webhooks: undefined })).toBeNull();
  });

  it('carry what each event needs, with the attempt its sequence is computed from', () => {
    expect(startedEvent(3)).toEqual({
      event: 'started',
      attempt: 3,
      status: 'in_progress',
      data: { attempt: { number: 3, statusCode: null, nextAttemptAt: null } },
    });
    expect(retryingEvent(entry, '2026-12-01T07:00:00.000Z')).toEqual({
      event: 'retrying',
      attempt: 3,
      status: 'retrying',
      data: { attempt: { number: 3, statusCode: 500, nextAttemptAt: '2026-12-01T07:00:00.000Z' }, error: entry.error },
    });
    expect(endEvents({ ...entry, statusCode: 200, error: null }, 'completed')).toEqual([
      { event: 'completed', attempt: 3, status: 'completed', data: { result: { statusCode: 200, response: null } } },
    ]);
    expect(cancelledBeforeEvent(2)).toEqual({ event: 'cancelled', attempt: 2, status: 'cancelled' });
  });

  it('end a failed job with failed then dead_lettered, in sequence order, and emit nothing for a status that is not an end', () => {
    const [failed, dead] = endEvents(entry, 'failed');
    expect([failed!.event, dead!.event]).toEqual(['failed', 'dead_lettered']);
    expect(eventSequence(failed!.event as 'failed', failed!.attempt)).toBeLessThan(
      eventSequence('dead_lettered', dead!.attempt),
    );
    expect(endEvents(entry, 'cancelled').map((e) => e.event)).toEqual(['cancelled']);
    expect(endEvents(entry, 'retrying')).toEqual([]);
  });
});

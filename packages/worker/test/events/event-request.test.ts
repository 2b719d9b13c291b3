import { describe, expect, it } from 'vitest';
import type { EventBody, EventMessage } from '@relay/common';
import { chainKey, eventHeaders, retryCopy } from '../../src/events/event-request.js';
import { deferredEvent, EVENT_MAX_HANDLING_FAILURES } from '../../src/events/process-event.js';
import { EVENT_USER_AGENT } from '../../src/package-version.js';

const body: EventBody = {
  jobId: '6f1c2b9e-4a53-4c1e-9d2a-0c1f6f2a9b10',
  event: 'completed',
  status: 'completed',
  timestamp: '2026-12-01T07:00:00.000Z',
  sequence: 5,
  application: 'acme',
  metadata: {},
};

const message: EventMessage = {
  v: 1,
  kind: 'event',
  application: 'acme',
  dueAt: 0,
  body,
  destinations: [
    { kind: 'webhook', id: 'http://127.0.0.1:9/a', url: 'http://127.0.0.1:9/a', webhookId: 'msg_ev_a', delivery: 1 },
    {
      kind: 'subscription',
      id: `sub_${'a'.repeat(24)}`,
      url: 'http://127.0.0.1:9/s',
      webhookId: 'msg_ev_s',
      delivery: 1,
    },
  ],
  failures: { step: 1, count: 2 },
};

describe('eventHeaders', () => {
  it("sends the subscription's headers, but never lets them replace relay's own", () => {
    const headers = eventHeaders(body, {
      Authorization: 'Bearer t',
      'Content-Type': 'text/plain',
      'X-Job-Id': 'forged',
      'webhook-signature': 'forged',
      'User-Agent': 'x',
      'X-Team': 'billing',
    });
    expect(headers).toEqual({
      Authorization: 'Bearer t',
      'X-Team': 'billing',
      'content-type': 'application/json',
      'user-agent': EVENT_USER_AGENT,
      'x-job-id': body.jobId,
      'x-job-status': 'completed',
    });
  });

  it('has no X-Job-* headers for an application event', () => {
    const headers = eventHeaders({ ...body, jobId: null, status: null, event: 'endpoint.disabled' });
    expect(Object.keys(headers)).toEqual(['content-type', 'user-agent']);
  });
});

describe('retryCopy', () => {
  it('carries one destination at the next delivery, the same webhook-id, and no handling failures', () => {
    const copy = retryCopy(message, message.destinations[1]!, 12_345);
    expect(copy.destinations).toEqual([{ ...message.destinations[1]!, delivery: 2 }]);
    expect(copy.dueAt).toBe(12_345);
    expect(copy.failures).toBeUndefined();
    expect(copy.body).toBe(body);
  });
});

describe('chainKey', () => {
  it('is per application, job and destination', () => {
    const [a, b] = message.destinations;
    expect(chainKey(message, a!)).not.toBe(chainKey(message, b!));
    expect(chainKey(message, a!)).toBe(chainKey({ ...message, dueAt: 5 }, { ...a!, delivery: 3 }));
    expect(chainKey(message, a!)).not.toBe(chainKey({ ...message, body: { ...body, jobId: 'other' } }, a!));
  });
});

describe('deferredEvent', () => {
  it('sends back only the failed destinations, later each time, and gives up after EVENT_MAX_HANDLING_FAILURES', () => {
    const first = deferredEvent({ ...message, failures: undefined }, [message.destinations[0]!], 1000)!;
    expect(first.destinations).toEqual([message.destinations[0]]);
    expect(first.failures).toEqual({ step: 1, count: 1 });
    const second = deferredEvent(first, first.destinations, 1000)!;
    expect(second.dueAt - 1000).toBeGreaterThan(first.dueAt - 1000);
    const last = { ...message, failures: { step: 1, count: EVENT_MAX_HANDLING_FAILURES - 1 } };
    expect(deferredEvent(last, last.destinations, 1000)).toBeNull();
  });
});

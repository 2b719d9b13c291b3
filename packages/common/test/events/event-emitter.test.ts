import { describe, expect, it } from 'vitest';
import {
  buildEventMessage,
  decodeEventMessage,
  emitEndpointDisabled,
  encodeEventMessage,
  endpointDisabledMessage,
  EventEmitter,
  eventSequence,
  eventWebhookId,
  jobHost,
  type EventMessage,
  type EventSubject,
  type JobEventInput,
  type Subscription,
  type SubscriptionMatcher,
} from '@relay/common';

const jobId = '6f1c2b9e-4a53-4c1e-9d2a-0c1f6f2a9b10';

function input(overrides: Partial<JobEventInput> = {}): JobEventInput {
  return {
    application: 'acme',
    jobId,
    event: 'started',
    attempt: 2,
    status: 'in_progress',
    timestamp: '2026-12-01T07:00:00.000Z',
    metadata: { team: 'billing' },
    host: 'api.example.test',
    webhooks: undefined,
    ...overrides,
  };
}

function subscription(id: string, url = `http://127.0.0.1:9/${id}`): Subscription {
  return {
    id,
    application: 'acme',
    name: id,
    url,
    events: ['*'],
    filters: {},
    headers: {},
    enabled: true,
    disabledReason: null,
    disabledAt: null,
    failingSince: null,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };
}

const subA = `sub_${'a'.repeat(24)}`;
const subB = `sub_${'b'.repeat(24)}`;

describe('buildEventMessage', () => {
  it('is null when neither a webhook nor a subscription wants the event', () => {
    expect(buildEventMessage(input(), [])).toBeNull();
    expect(buildEventMessage(input({ webhooks: { completed: 'http://127.0.0.1:9/done' } }), [])).toBeNull();
  });

  it('builds one message: webhook URLs first (each once), then subscriptions, each at delivery 1 with its own derived webhook-id', () => {
    const message = buildEventMessage(
      input({
        webhooks: { started: 'http://127.0.0.1:9/a', progress: 'http://127.0.0.1:9/a', '*': 'http://127.0.0.1:9/all' },
      }),
      [subscription(subA)],
    )!;
    const sequence = eventSequence('started', 2);
    expect(sequence).toBe(8);
    expect(message.destinations).toEqual([
      {
        kind: 'webhook',
        id: 'http://127.0.0.1:9/a',
        url: 'http://127.0.0.1:9/a',
        webhookId: eventWebhookId(jobId, 8, 'job:http://127.0.0.1:9/a'),
        delivery: 1,
      },
      {
        kind: 'webhook',
        id: 'http://127.0.0.1:9/all',
        url: 'http://127.0.0.1:9/all',
        webhookId: eventWebhookId(jobId, 8, 'job:http://127.0.0.1:9/all'),
        delivery: 1,
      },
      {
        kind: 'subscription',
        id: subA,
        url: `http://127.0.0.1:9/${subA}`,
        webhookId: eventWebhookId(jobId, 8, `sub:${subA}`),
        delivery: 1,
      },
    ]);
    expect(new Set(message.destinations.map((d) => d.webhookId)).size).toBe(3);
    expect(message).toMatchObject({ v: 1, kind: 'event', application: 'acme', dueAt: 0 });
    expect(message.body).toEqual({
      jobId,
      event: 'started',
      status: 'in_progress',
      timestamp: '2026-12-01T07:00:00.000Z',
      sequence: 8,
      application: 'acme',
      metadata: { team: 'billing' },
    });
  });

  it('gives a copy of the same event the same sequence and webhook-ids (a re-emission after a crash)', () => {
    const a = buildEventMessage(input({ event: 'retrying', timestamp: '2026-12-01T07:00:00.000Z' }), [
      subscription(subA),
    ])!;
    const b = buildEventMessage(input({ event: 'retrying', timestamp: '2026-12-01T07:05:00.000Z' }), [
      subscription(subA),
    ])!;
    expect(b.body.sequence).toBe(a.body.sequence);
    expect(b.destinations[0]!.webhookId).toBe(a.destinations[0]!.webhookId);
  });

  it('carries the data that fits the event, and passes its own codec', () => {
    const message = buildEventMessage(
      input({
        event: 'completed',
        status: 'completed',
        webhooks: { completed: 'http://127.0.0.1:9/done' },
        data: { result: { statusCode: 200, response: null } },
      }),
      [],
    )!;
    expect(message.body.result).toEqual({ statusCode: 200, response: null });
    expect(decodeEventMessage(encodeEventMessage(message))).toEqual(message);
  });

  it("orders a job's events by sequence: started < its result < dead_lettered < replayed < the next start", () => {
    const seq = (event: JobEventInput['event'], attempt: number) =>
      buildEventMessage(input({ event, attempt, webhooks: { '*': 'http://127.0.0.1:9/x' } }), [])!.body.sequence;
    const order = [
      seq('created', 0),
      seq('started', 1),
      seq('failed', 1),
      seq('dead_lettered', 1),
      seq('replayed', 1),
      seq('started', 2),
    ];
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(new Set(order).size).toBe(order.length);
  });
});

describe('jobHost', () => {
  it('is the lower-case host name without port or brackets', () => {
    expect(jobHost('https://API.Example.test:8443/x')).toBe('api.example.test');
    expect(jobHost('http://[::1]:8080/')).toBe('::1');
    expect(jobHost('not a url')).toBe('');
  });
});

describe('endpointDisabledMessage', () => {
  const disabled = {
    ...subscription(subA),
    enabled: false,
    disabledReason: 'endpoint_failing' as const,
    disabledAt: '2026-12-01T06:00:00.000Z',
  };

  it('goes to the other subscriptions that ask for it, with the subscription in the body and no job', () => {
    const message = endpointDisabledMessage(
      'acme',
      disabled,
      [subscription(subA), subscription(subB)],
      '2026-12-01T07:00:00.000Z',
    )!;
    expect(message.destinations.map((d) => d.id)).toEqual([subB]);
    expect(message.body).toMatchObject({
      jobId: null,
      event: 'endpoint.disabled',
      status: null,
      timestamp: '2026-12-01T06:00:00.000Z',
      subscription: { id: subA, name: subA, reason: 'endpoint_failing' },
    });
    expect(decodeEventMessage(encodeEventMessage(message))).toEqual(message);
    // The same disable gives the same id; another disable of it, another.
    const again = endpointDisabledMessage('acme', disabled, [subscription(subB)], '2026-12-01T08:00:00.000Z')!;
    expect(again.destinations[0]!.webhookId).toBe(message.destinations[0]!.webhookId);
    const later = endpointDisabledMessage(
      'acme',
      { ...disabled, disabledAt: '2026-12-09T06:00:00.000Z' },
      [subscription(subB)],
      '',
    )!;
    expect(later.destinations[0]!.webhookId).not.toBe(message.destinations[0]!.webhookId);
  });

  it('is null when nobody else asks for it', () => {
    expect(endpointDisabledMessage('acme', disabled, [subscription(subA)], '2026-12-01T07:00:00.000Z')).toBeNull();
  });
});

describe('EventEmitter', () => {
  function recording(subscriptions: Subscription[]) {
    const subjects: EventSubject[] = [];
    const published: EventMessage[] = [];
    const matcher: SubscriptionMatcher = {
      match: async (_application, subject) => {
        subjects.push(subject);
        return subject.event === 'endpoint.disabled' || subject.metadata.team === 'billing' ? subscriptions : [];
      },
    };
    const emitter = new EventEmitter({ matcher, publish: async (m) => void published.push(m) });
    return { emitter, matcher, subjects, published };
  }

  it('publishes nothing for a job nobody listens to', async () => {
    const { emitter, published } = recording([subscription(subA)]);
    expect(await emitter.emit(input({ metadata: { team: 'other' } }))).toBe(false);
    expect(published).toEqual([]);
  });

  it('matches on the job as it is after the event and publishes one message per event, in the given order', async () => {
    const { emitter, subjects, published } = recording([subscription(subA)]);
    const n = await emitter.emitAll([
      input({ event: 'failed', status: 'failed' }),
      input({ event: 'dead_lettered', status: 'failed' }),
    ]);
    expect(n).toBe(2);
    expect(subjects[0]).toEqual({
      event: 'failed',
      metadata: { team: 'billing' },
      host: 'api.example.test',
      status: 'failed',
    });
    expect(published.map((m) => m.body.event)).toEqual(['failed', 'dead_lettered']);
  });

  it('prepare matches at once and publishes only when called, writing every message before it returns', async () => {
    const { emitter, published } = recording([subscription(subA)]);
    const publish = await emitter.prepare([input({ event: 'created', attempt: 0, status: 'queued' })]);
    expect(published).toEqual([]);
    const confirmed = publish();
    // Synchronously written, so that a message the caller publishes next comes after it on the channel.
    expect(published.map((m) => m.body.event)).toEqual(['created']);
    expect(await confirmed).toBe(1);
  });

  it('tells the other subscriptions that ask for it of a disabled endpoint', async () => {
    const { matcher, published } = recording([subscription(subA), subscription(subB)]);
    const disabled = {
      ...subscription(subA),
      enabled: false,
      disabledReason: 'endpoint_failing' as const,
      disabledAt: '2026-12-01T06:00:00.000Z',
    };
    const publish = async (m: EventMessage) => void published.push(m);
    expect(await emitEndpointDisabled({ matcher, publish }, 'acme', disabled, '2026-12-01T07:00:00.000Z')).toBe(true);
    expect(published[0]!.destinations.map((d) => d.id)).toEqual([subB]);
  });
});

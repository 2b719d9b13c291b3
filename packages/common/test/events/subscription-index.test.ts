import { describe, expect, it } from 'vitest';
import type { EventSubject } from '../../src/events/ports.js';
import { buildSubscriptionIndex, matchesSubscription } from '../../src/events/subscription-index.js';
import { subscription } from './subscription-fixtures.js';

const subject = (over: Partial<EventSubject> = {}): EventSubject => ({
  event: 'completed',
  metadata: {},
  host: 'api.example.test',
  status: 'completed',
  ...over,
});

const all = [
  subscription(1, ['completed']),
  subscription(2, ['*']),
  subscription(3, ['completed', 'failed'], { metadata: { tenant: 'acme', region: 'eu' } }),
  subscription(4, ['completed'], { metadata: { tenant: 'acme' } }),
  subscription(5, ['completed'], { host: 'API.example.test' }),
  subscription(6, ['completed'], { status: ['failed'] }),
  subscription(7, ['completed'], {}, false),
  subscription(8, ['endpoint.disabled']),
  subscription(9, ['*', 'endpoint.disabled'], { metadata: { tenant: 'acme' } }),
  subscription(10, ['started'], { metadata: { region: 'eu' }, host: 'other.test' }),
];
const index = buildSubscriptionIndex(all);
const ids = (list: readonly { name: string }[]) => list.map((s) => s.name);

describe('buildSubscriptionIndex', () => {
  it('indexes only enabled subscriptions', () => {
    expect(index.size).toBe(9);
  });

  it('a job without metadata: the unfiltered subscriptions whose other filters hold', () => {
    expect(ids(index.match(subject()))).toEqual(['s1', 's2', 's5']);
  });

  it('two metadata keys must both be equal; one key is enough for a one-key filter', () => {
    expect(ids(index.match(subject({ metadata: { tenant: 'acme', region: 'eu', extra: 'x' } })))).toEqual([
      's1',
      's2',
      's3',
      's4',
      's5',
      's9',
    ]);
    expect(ids(index.match(subject({ metadata: { tenant: 'acme' } })))).toEqual(['s1', 's2', 's4', 's5', 's9']);
    // s3 sits in the bucket of region=eu (first key in sorted order): tenant must still hold.
    expect(ids(index.match(subject({ metadata: { tenant: 'other', region: 'eu' } })))).toEqual(['s1', 's2', 's5']);
  });

  it('"*" means every job event, not endpoint.disabled, which must be named', () => {
    expect(ids(index.match(subject({ event: 'retrying', status: 'retrying' })))).toEqual(['s2']);
    expect(ids(index.match(subject({ event: 'replayed', metadata: { tenant: 'acme' } })))).toEqual(['s2', 's9']);
    // Application events ignore the job filters.
    expect(ids(index.match({ event: 'endpoint.disabled', metadata: {}, host: '', status: '' }))).toEqual(['s8', 's9']);
  });

  it('host is compared without case, status against the list', () => {
    expect(ids(index.match(subject({ host: 'elsewhere.test' })))).toEqual(['s1', 's2']);
    expect(ids(index.match(subject({ status: 'failed' })))).toEqual(['s1', 's2', 's5', 's6']);
    expect(ids(index.match(subject({ event: 'started', metadata: { region: 'eu' }, host: 'other.test' })))).toEqual([
      's2',
      's10',
    ]);
  });

  it('answers what a scan of every subscription answers', () => {
    const subjects: EventSubject[] = [];
    for (const event of ['created', 'started', 'completed', 'failed', 'endpoint.disabled'] as const)
      for (const metadata of [{}, { tenant: 'acme' }, { tenant: 'acme', region: 'eu' }, { region: 'eu' }] as Record<
        string,
        string
      >[])
        for (const host of ['api.example.test', 'other.test'])
          for (const status of ['completed', 'failed']) subjects.push({ event, metadata, host, status });
    for (const s of subjects) {
      expect(ids(index.match(s))).toEqual(ids(all.filter((sub) => matchesSubscription(sub, s))));
    }
  });
});

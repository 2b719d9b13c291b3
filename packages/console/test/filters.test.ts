import { describe, expect, it } from 'vitest';
import { formFromQuery, parseMetadata, queryFromForm, replayBodyFromQuery } from '../src/filters.js';
import type { Snapshot } from '../src/api-types.js';
import { appendPoint, MAX_POINTS } from '../src/points.js';

describe('job filter in the URL', () => {
  it('round-trips the API query: statuses, metadata, host, time bounds', () => {
    const query = new URLSearchParams(
      'status=failed&status=retrying&metadata.order=42&metadata.customer=acme&targetHost=api.example.com&createdAfter=2026-11-22T10:00:00.000Z',
    );
    const form = formFromQuery(query);
    expect(form.statuses).toEqual(['failed', 'retrying']);
    expect(form.metadata).toBe('order=42, customer=acme');
    expect(queryFromForm(form).toString()).toBe(query.toString());
  });

  it('drops statuses the API does not know rather than sending a 400', () => {
    expect(formFromQuery(new URLSearchParams('status=bogus&status=queued')).statuses).toEqual(['queued']);
  });

  it('parses metadata pairs separated by commas or new lines, values may hold =', () => {
    expect(parseMetadata(' a=1 ,\nb = x=y ,')).toEqual({
      pairs: [
        ['a', '1'],
        ['b', 'x=y'],
      ],
      error: null,
    });
    expect(parseMetadata('a=1, oops').error).toBe('"oops" is not key=value');
    expect(parseMetadata('=v').error).toBe('"=v" is not key=value');
  });

  it('turns the dead-letter filter into the bulk replay body (metadata as an object, no status)', () => {
    const body = replayBodyFromQuery(
      new URLSearchParams('metadata.customer=acme&targetHost=h&status=failed&cursor=x'),
      1000,
    );
    expect(body).toEqual({ limit: 1000, metadata: { customer: 'acme' }, targetHost: 'h' });
  });
});

describe('appendPoint', () => {
  const at = (s: number) => ({ at: new Date(s * 1000).toISOString() }) as Snapshot;

  it('appends newer points, drops ones not newer than the last', () => {
    const one = appendPoint([], at(1));
    expect(appendPoint(one, at(1))).toBe(one);
    expect(appendPoint(one, at(0))).toBe(one);
    expect(appendPoint(one, at(2)).map((p) => p.at)).toEqual([at(1).at, at(2).at]);
  });

  it('keeps the newest MAX_POINTS', () => {
    let points: Snapshot[] = [];
    for (let s = 0; s < MAX_POINTS + 5; s++) points = appendPoint(points, at(s));
    expect(points).toHaveLength(MAX_POINTS);
    expect(points[0]!.at).toBe(at(5).at);
  });
});

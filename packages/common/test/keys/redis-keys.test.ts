import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/keys/redis-keys.js';

describe('redisKeys', () => {
  it('builds every key from the prefix', () => {
    const keys = redisKeys('test-abc');
    expect(keys.job('j1')).toBe('test-abc:job:j1');
    expect(keys.attempts('j1')).toBe('test-abc:job:j1:log');
    expect(keys.jobSpec('j1')).toBe('test-abc:job:j1:spec');
    expect(keys.indexAll()).toBe('test-abc:app:default:idx:all');
    expect(keys.counters()).toBe('test-abc:app:default:counters');
    expect(keys.applicationRecord('app_1')).toBe('test-abc:application:app_1');
    expect(keys.apiKey('ab12')).toBe('test-abc:apikey:ab12');
    expect(keys.workers()).toBe('test-abc:workers');
    expect(keys.workerHeartbeat('h:1')).toBe('test-abc:workers:h%3A1');
  });

  it('scopes indexes, counters and idempotency keys by application, and only those', () => {
    const a = redisKeys('p', 'app_a');
    const b = redisKeys('p', 'app_b');
    expect(a.job('j')).toBe(b.job('j'));
    expect(a.indexAll()).not.toBe(b.indexAll());
    expect(a.indexStatus('queued')).toBe('p:app:app_a:idx:status:queued');
    expect(a.counters()).not.toBe(b.counters());
    expect(a.idempotency('h')).not.toBe(b.idempotency('h'));
    expect(a.applications()).toBe(b.applications());
    // An application id cannot reach into another's keys.
    expect(redisKeys('p', 'x:idx:all').indexAll()).toBe('p:app:x%3Aidx%3Aall:idx:all');
  });

  it('isolates prefixes from each other', () => {
    expect(redisKeys('a').job('x')).not.toBe(redisKeys('b').job('x'));
  });
});

import { describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/keys/redis-keys.js';

describe('redisKeys', () => {
  it('builds every key from the prefix', () => {
    const keys = redisKeys('test-abc');
    expect(keys.job('j1')).toBe('test-abc:{app:default}:job:j1');
    expect(keys.attempts('j1')).toBe('test-abc:{app:default}:job:j1:log');
    expect(keys.jobSpec('j1')).toBe('test-abc:{app:default}:job:j1:spec');
    expect(keys.indexAll()).toBe('test-abc:{app:default}:idx:all');
    expect(keys.counters()).toBe('test-abc:{app:default}:counters');
    expect(keys.deadlines()).toBe('test-abc:{app:default}:deadlines');
    expect(keys.applicationRecord('app_1')).toBe('test-abc:{app:app_1}:record');
    expect(keys.apiKey('ab12')).toBe('test-abc:apikey:ab12');
    expect(keys.workers()).toBe('test-abc:workers');
    expect(keys.workerHeartbeat('h:1')).toBe('test-abc:workers:h%3A1');
  });

  it('scopes job keys, indexes, counters and idempotency keys by application', () => {
    const a = redisKeys('p', 'app_a');
    const b = redisKeys('p', 'app_b');
    expect(a.job('j')).not.toBe(b.job('j'));
    expect(a.indexAll()).not.toBe(b.indexAll());
    expect(a.indexStatus('queued')).toBe('p:{app:app_a}:idx:status:queued');
    expect(a.counters()).not.toBe(b.counters());
    expect(a.idempotency('h')).not.toBe(b.idempotency('h'));
    expect(a.applications()).toBe(b.applications());
    // An application id cannot reach into another's keys.
    expect(redisKeys('p', 'x:idx:all').indexAll()).toBe('p:{app:x%3Aidx%3Aall}:idx:all');
  });

  it('puts every key of an application, its jobs and its record in one hash slot', () => {
    // The hash tag Redis Cluster hashes: the text inside the first {...}.
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1] ?? null;
    for (const app of ['default', 'app_1', 'we}ird{ name']) {
      const k = redisKeys('p', app);
      const keys = [
        k.job('j'), k.jobSpec('j'), k.attempts('j'), k.indexAll(), k.indexStatus('queued'), k.indexStatusPrefix(),
        k.indexHost('h'), k.indexMetadata('a', 'b'), k.indexDead(), k.counters(), k.quotaBytes(),
        k.idempotency('h'), k.deadlines(), k.applicationRecord(app),
      ];
      expect(new Set(keys.map(tag))).toEqual(new Set([`app:${encodeURIComponent(app)}`]));
    }
    expect(() => redisKeys('a{b}')).toThrow(/hash tags/);
  });

  it('isolates prefixes from each other', () => {
    expect(redisKeys('a').job('x')).not.toBe(redisKeys('b').job('x'));
  });
});

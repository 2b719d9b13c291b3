import { describe, expect, it } from 'vitest';
import { HeldOutcomes, retryWrite, writeRetryDelay } from '../src/held-outcomes.js';

const quiet = { warn: () => undefined };

describe('retryWrite', () => {
  it('retries a failing write until it succeeds, and gives up after the last try', async () => {
    let calls = 0;
    const retry = { tries: 3, firstDelayMs: 1, maxDelayMs: 2 };
    const value = await retryWrite(
      async () => {
        if (++calls < 3) throw new Error('READONLY');
        return 'written';
      },
      quiet,
      'test',
      retry,
    );
    expect(value).toBe('written');
    expect(calls).toBe(3);
    await expect(retryWrite(async () => Promise.reject(new Error('down')), quiet, 'test', retry)).rejects.toThrow(
      'down',
    );
  });

  it('doubles the wait from the first delay up to the cap', () => {
    const retry = { tries: 9, firstDelayMs: 200, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => writeRetryDelay(n, retry))).toEqual([200, 400, 800, 1000, 1000]);
  });
});

describe('HeldOutcomes', () => {
  it('holds until released and forgets the oldest beyond its capacity', () => {
    const held = new HeldOutcomes<number>(2);
    held.hold('a', 1);
    held.hold('b', 2);
    held.hold('c', 3);
    expect([held.get('a'), held.get('b'), held.get('c')]).toEqual([undefined, 2, 3]);
    held.release('b');
    expect(held.get('b')).toBeUndefined();
  });
});

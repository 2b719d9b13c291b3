import { describe, expect, it } from 'vitest';
import { randomHex } from '../src/random-hex.js';

describe('randomHex', () => {
  it('gives distinct values of the asked length across pool refills', () => {
    const seen = new Set<string>();
    // 1,000 x 16 bytes spans four refills of the 4 KiB pool.
    for (let i = 0; i < 1000; i++) {
      const value = randomHex(16);
      expect(value).toMatch(/^[0-9a-f]{32}$/);
      seen.add(value);
    }
    expect(seen.size).toBe(1000);
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses more than the pool holds', () => {
    expect(() => randomHex(4097)).toThrow(RangeError);
  });
});

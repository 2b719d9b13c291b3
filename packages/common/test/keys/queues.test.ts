import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUEUE_TYPE,
  DELAY_TIERS_MS,
  DELAY_TOLERANCE_MS,
  planDelayHop,
  PRIORITY_ORDER,
  queueNames,
} from '../../src/keys/queues.js';

describe('queueNames', () => {
  const q = queueNames('test-abc', 'classic');

  it('classic: names the work queue and a delay queue from the prefix, as earlier versions did', () => {
    expect(q.work).toBe('test-abc.work');
    expect(q.delay(640)).toBe('test-abc.delay.640ms');
    expect(q.deadLetters).toBe('test-abc.dead-letters');
    expect(q.deadLetterExchange).toBe('test-abc.dead-letter');
    expect(q.dueExchange).toBeNull();
  });

  it('classic: one work queue takes every level', () => {
    expect(q.workQueues).toEqual([{ queue: 'test-abc.work', level: null }]);
    for (const level of PRIORITY_ORDER) expect(q.workFor(level)).toBe('test-abc.work');
  });

  it('lists one distinct, prefixed delay queue per tier', () => {
    const all = q.allDelay();
    expect(all).toHaveLength(DELAY_TIERS_MS.length);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(DELAY_TIERS_MS.map((t) => `test-abc.delay.${t}ms`));
    expect(all).not.toContain(q.work);
  });

  it('is quorum by default', () => {
    expect(DEFAULT_QUEUE_TYPE).toBe('quorum');
    expect(queueNames('test-abc')).toMatchObject({ type: 'quorum', work: 'test-abc.q.work.normal' });
  });

  it('quorum: one work queue per level, highest first, normal as `work`', () => {
    const qq = queueNames('test-abc', 'quorum');
    expect(qq.workQueues).toEqual([
      { queue: 'test-abc.q.work.high', level: 'high' },
      { queue: 'test-abc.q.work.normal', level: 'normal' },
      { queue: 'test-abc.q.work.low', level: 'low' },
    ]);
    expect(qq.workFor('low')).toBe('test-abc.q.work.low');
    expect(qq.dueExchange).toBe('test-abc.q.due');
  });

  it('never gives the two types a name in common, so a switch never redeclares a queue with other arguments', () => {
    const classic = queueNames('relay', 'classic');
    const quorum = queueNames('relay', 'quorum');
    const names = (n: typeof classic) => [...n.allQueues(), n.deadLetterExchange, ...(n.dueExchange ? [n.dueExchange] : [])];
    expect(names(classic).filter((n) => names(quorum).includes(n))).toEqual([]);
    // Three work queues, the dead letters, the events queue, the delay tiers.
    expect(new Set(quorum.allQueues()).size).toBe(3 + 1 + 1 + DELAY_TIERS_MS.length);
  });
});

describe('DELAY_TIERS_MS', () => {
  it('doubles from 10 ms up to about 43 minutes', () => {
    expect(DELAY_TIERS_MS[0]).toBe(10);
    for (let i = 1; i < DELAY_TIERS_MS.length; i++) expect(DELAY_TIERS_MS[i]).toBe(2 * DELAY_TIERS_MS[i - 1]!);
    const largest = DELAY_TIERS_MS.at(-1)!;
    expect(largest).toBe(2_621_440);
  });
});

describe('planDelayHop', () => {
  it.each([-5000, -1, 0, 1, 9.99, DELAY_TOLERANCE_MS])('%f ms remaining is due now (null)', (remaining) => {
    expect(planDelayHop(remaining)).toBeNull();
  });

  it.each([
    // remaining, tier
    [10.5, 10],
    [11, 10],
    [19, 10],
    [20, 20],
    [39, 20],
    [40, 40],
    [1000, 640],
    [1280, 1280],
    [60_000, 40_960],
    [2_621_440, 2_621_440],
    [2 * 3_600_000, 2_621_440], // beyond the largest tier: the largest tier
  ])('%f ms remaining -> the %i ms tier', (remaining, tier) => {
    expect(planDelayHop(remaining)).toBe(tier);
  });

  it('always picks the largest tier not above the remaining time', () => {
    for (let remaining = 11; remaining < 3_000_000; remaining = Math.ceil(remaining * 1.07)) {
      const tier = planDelayHop(remaining)!;
      expect(DELAY_TIERS_MS).toContain(tier);
      expect(tier).toBeLessThanOrEqual(remaining);
      const next = DELAY_TIERS_MS[DELAY_TIERS_MS.indexOf(tier) + 1];
      if (next !== undefined) expect(next).toBeGreaterThan(remaining);
    }
  });

  describe('hopping until due', () => {
    /** Follows the hops a message would take; each hop waits exactly its tier. */
    function simulate(targetMs: number): { waited: number; hops: number } {
      let waited = 0;
      let hops = 0;
      for (let tier = planDelayHop(targetMs); tier !== null; tier = planDelayHop(targetMs - waited)) {
        waited += tier;
        hops++;
        if (hops > 1000) throw new Error(`no convergence for ${targetMs}`);
      }
      return { waited, hops };
    }

    /** Deterministic pseudo-random numbers (mulberry32) so a failure is reproducible. */
    function rng(seed: number): () => number {
      return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = seed;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }

    const TWO_HOURS = 2 * 3_600_000;
    const largest = DELAY_TIERS_MS.at(-1)!;
    const random = rng(42);
    const targets = [
      ...Array.from({ length: 3000 }, (_, i) => 11 + i), // every whole ms up to 3 s
      ...Array.from({ length: 2000 }, () => 11 + random() * (TWO_HOURS - 11)), // fractional, anywhere
      ...DELAY_TIERS_MS.flatMap((t) => [t - 1, t, t + 1, t + 10, t + 11, 2 * t - 1]).filter((t) => t > 10),
      largest * 2 - 10,
      TWO_HOURS - 1,
      TWO_HOURS,
    ];

    it('ends within DELAY_TOLERANCE_MS of the target, never late', () => {
      for (const target of targets) {
        const { waited } = simulate(target);
        expect(waited, `target ${target}`).toBeLessThanOrEqual(target);
        expect(target - waited, `target ${target}`).toBeLessThanOrEqual(DELAY_TOLERANCE_MS);
      }
    });

    it('takes about log2(target / 10) hops at most', () => {
      for (const target of targets) {
        const { hops } = simulate(target);
        // Greedy binary decomposition: one hop per set bit of target/10, plus one
        // extra hop per full largest tier for delays past it.
        const bound = Math.ceil(Math.log2(target / DELAY_TIERS_MS[0]!)) + 3;
        expect(hops, `target ${target}`).toBeLessThanOrEqual(bound);
      }
    });

    it('needs exactly one hop for a delay equal to a tier', () => {
      for (const tier of DELAY_TIERS_MS.filter((t) => t > DELAY_TOLERANCE_MS))
        expect(simulate(tier)).toEqual({ waited: tier, hops: 1 });
    });
  });
});

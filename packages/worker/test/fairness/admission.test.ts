import { describe, expect, it } from 'vitest';
import {
  admit,
  nextSlotTimeMs,
  SLOT_TIME_WEIGHT,
  SLOW_HOST_BUSY_MS,
  SLOW_HOST_DEFERRAL_MAX_MS,
  SLOW_HOST_SKIPPED_ROUNDS,
  waitsLocally,
  DEFERRAL_BASE_MS,
  DEFERRAL_GROWTH,
  DEFERRAL_MAX_MS,
  deferralDelayMs,
  hostDeferralMaxMs,
  type FairnessCaps,
} from '../../src/fairness/admission.js';

/** The largest double below 1: what Math.random() can return at most. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;
const caps: FairnessCaps = { host: 4, application: 6 };

describe('admit', () => {
  it('starts a message while its host and its application are under their caps', () => {
    expect(admit({ host: 0, application: 0 }, caps, 0, 0.5)).toEqual({ kind: 'start' });
    expect(admit({ host: 3, application: 5 }, caps, 7, 0.5)).toEqual({ kind: 'start' });
  });

  it('defers a message whose host is at its cap, whatever its application', () => {
    expect(admit({ host: 4, application: 0 }, caps, 0, 0)).toEqual({
      kind: 'defer',
      reason: 'host',
      delayMs: DEFERRAL_BASE_MS / 2,
    });
    // Over the cap (the cap was lowered by a restart with other settings): still held back.
    expect(admit({ host: 9, application: 9 }, caps, 0, 0)).toMatchObject({ kind: 'defer', reason: 'host' });
  });

  it('defers a message whose application is at its cap when its host is not', () => {
    expect(admit({ host: 1, application: 6 }, caps, 2, ALMOST_ONE)).toEqual({
      kind: 'defer',
      reason: 'application',
      delayMs: deferralDelayMs(2, ALMOST_ONE),
    });
  });

  it('a cap of 1 lets exactly one message run', () => {
    const one = { host: 1, application: 1 };
    expect(admit({ host: 0, application: 0 }, one, 0, 0).kind).toBe('start');
    expect(admit({ host: 1, application: 0 }, one, 0, 0).kind).toBe('defer');
    expect(admit({ host: 0, application: 1 }, one, 0, 0).kind).toBe('defer');
  });
});

describe('deferralDelayMs', () => {
  it('grows with each deferral, from the base, within the upper half of its ceiling', () => {
    for (let n = 0; DEFERRAL_BASE_MS * DEFERRAL_GROWTH ** n <= DEFERRAL_MAX_MS; n++) {
      const ceiling = DEFERRAL_BASE_MS * DEFERRAL_GROWTH ** n;
      expect(deferralDelayMs(n, 0)).toBe(Math.round(ceiling / 2));
      expect(deferralDelayMs(n, ALMOST_ONE)).toBe(ceiling);
      expect(deferralDelayMs(n, 0.5)).toBe(Math.round((ceiling * 3) / 4));
    }
  });

  it('stops growing at the maximum', () => {
    expect(deferralDelayMs(4, ALMOST_ONE)).toBe(DEFERRAL_MAX_MS);
    expect(deferralDelayMs(4, 0)).toBe(DEFERRAL_MAX_MS / 2);
    expect(deferralDelayMs(1000, ALMOST_ONE)).toBe(DEFERRAL_MAX_MS);
    expect(deferralDelayMs(Number.MAX_SAFE_INTEGER, 0)).toBe(DEFERRAL_MAX_MS / 2);
  });

  it('reads a missing or forged count as no deferral yet', () => {
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(deferralDelayMs(bad, ALMOST_ONE)).toBe(DEFERRAL_BASE_MS);
    }
  });

  it('keeps a random value outside [0, 1) within the bounds', () => {
    expect(deferralDelayMs(0, -3)).toBe(DEFERRAL_BASE_MS / 2);
    expect(deferralDelayMs(0, 7)).toBe(DEFERRAL_BASE_MS);
  });

  it('is never below the smallest delay tier, so a held-back message never comes straight back', () => {
    expect(deferralDelayMs(0, 0)).toBeGreaterThan(10);
  });
});

describe('nextSlotTimeMs', () => {
  it("starts at the first run's time, then moves a tenth of the way to each new one", () => {
    expect(nextSlotTimeMs(undefined, 40)).toBe(40);
    expect(nextSlotTimeMs(40, 140)).toBeCloseTo(40 + SLOT_TIME_WEIGHT * 100);
    expect(nextSlotTimeMs(50, 0)).toBeCloseTo(45);
  });

  it('reads a negative or non-finite time (a clock step) as 0', () => {
    expect(nextSlotTimeMs(undefined, -5)).toBe(0);
    expect(nextSlotTimeMs(10, Number.NaN)).toBeCloseTo(9);
  });
});

describe('waitsLocally', () => {
  const fast = { slotTimeMs: 20, waiting: 0, hostCap: 4, maxWaitMs: 100 };

  it('waits while the expected turn, (waiting + 1) slot times over the cap, is within the maximum', () => {
    expect(waitsLocally(fast)).toBe(true);
    // (19 + 1) * 20 / 4 = 100: the last place that still waits.
    expect(waitsLocally({ ...fast, waiting: 19 })).toBe(true);
    expect(waitsLocally({ ...fast, waiting: 20 })).toBe(false);
  });

  it('puts back the messages of a slow host, of a host not measured yet, and everything when turned off', () => {
    expect(waitsLocally({ ...fast, slotTimeMs: 30_000 })).toBe(false);
    expect(waitsLocally({ ...fast, slotTimeMs: undefined })).toBe(false);
    expect(waitsLocally({ ...fast, maxWaitMs: 0 })).toBe(false);
    expect(waitsLocally({ ...fast, hostCap: 0 })).toBe(false);
  });
});

describe('admit, a slow host', () => {
  const caps = { host: 2, application: 10 };

  it('waits two rounds ahead in the schedule once its oldest message in flight has run SLOW_HOST_BUSY_MS', () => {
    expect(admit({ host: 2, application: 0 }, caps, 0, 0, SLOW_HOST_BUSY_MS - 1)).toMatchObject({
      delayMs: deferralDelayMs(0, 0),
    });
    expect(admit({ host: 2, application: 0 }, caps, 0, 0, SLOW_HOST_BUSY_MS)).toMatchObject({
      kind: 'defer',
      reason: 'host',
      delayMs: deferralDelayMs(SLOW_HOST_SKIPPED_ROUNDS, 0),
    });
    // Every later wait is as many rounds ahead.
    expect(admit({ host: 2, application: 0 }, caps, 1, 0, 2_000)).toMatchObject({
      delayMs: deferralDelayMs(1 + SLOW_HOST_SKIPPED_ROUNDS, 0),
    });
  });

  it('waits at most as long as its oldest message in flight has run, between DEFERRAL_MAX_MS and SLOW_HOST_DEFERRAL_MAX_MS', () => {
    expect(hostDeferralMaxMs(0)).toBe(DEFERRAL_MAX_MS);
    expect(hostDeferralMaxMs(SLOW_HOST_BUSY_MS)).toBe(DEFERRAL_MAX_MS);
    expect(hostDeferralMaxMs(20_000)).toBe(20_000);
    expect(hostDeferralMaxMs(600_000)).toBe(SLOW_HOST_DEFERRAL_MAX_MS);
    expect(hostDeferralMaxMs(Number.NaN)).toBe(DEFERRAL_MAX_MS);
    // Held back many times by a host busy for 20 s: 10-20 s, not 5-10 s.
    expect(admit({ host: 2, application: 0 }, caps, 5, 0, 20_000)).toMatchObject({ delayMs: 10_000 });
    expect(admit({ host: 2, application: 0 }, caps, 5, ALMOST_ONE, 20_000)).toMatchObject({ delayMs: 20_000 });
    // Its first wait is unchanged (the schedule reaches the ceiling only after a few rounds).
    expect(admit({ host: 2, application: 0 }, caps, 0, 0, 20_000)).toMatchObject({
      delayMs: deferralDelayMs(SLOW_HOST_SKIPPED_ROUNDS, 0),
    });
    // A message held back by its application waits the usual schedule.
    expect(admit({ host: 0, application: 10 }, caps, 5, ALMOST_ONE, 20_000)).toMatchObject({
      delayMs: DEFERRAL_MAX_MS,
    });
  });

  it('changes nothing for a host under its cap, or for a message held back by its application', () => {
    expect(admit({ host: 1, application: 0 }, caps, 0, 0, 60_000)).toEqual({ kind: 'start' });
    expect(admit({ host: 0, application: 10 }, caps, 0, 0, 60_000)).toMatchObject({
      reason: 'application',
      delayMs: deferralDelayMs(0, 0),
    });
  });
});

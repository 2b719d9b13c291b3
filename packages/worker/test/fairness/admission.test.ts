import { describe, expect, it } from 'vitest';
import {
  admit,
  DEFERRAL_BASE_MS,
  DEFERRAL_GROWTH,
  DEFERRAL_MAX_MS,
  deferralDelayMs,
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

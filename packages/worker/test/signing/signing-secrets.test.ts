import { describe, expect, it } from 'vitest';
import { DEFAULT_APPLICATION } from '@relay/common';
import { SigningSecretCache, type ApplicationSigning } from '../../src/signing/signing-secrets.js';

/** A source that counts reads and answers what the test sets. */
function source(initial: ApplicationSigning | null) {
  const state = { value: initial, reads: 0, fail: false };
  return {
    state,
    async signing(_id: string): Promise<ApplicationSigning | null> {
      state.reads++;
      if (state.fail) throw new Error('redis down');
      return state.value && { ...state.value, secrets: [...state.value.secrets] };
    },
  };
}

const signing = (secrets: string[]): ApplicationSigning => ({ secrets, signTargetRequests: false });

describe('SigningSecretCache', () => {
  it('reuses an answer for ttlMs, then reads again (how a rotation reaches a worker)', async () => {
    let now = 1_000_000;
    const src = source(signing(['whsec_old']));
    const cache = new SigningSecretCache(src, { ttlMs: 5000, now: () => now });
    expect(await cache.get('app_a')).toEqual(signing(['whsec_old']));
    src.state.value = signing(['whsec_new', 'whsec_old']);
    now += 4999;
    expect((await cache.get('app_a'))?.secrets).toEqual(['whsec_old']);
    now += 1;
    expect((await cache.get('app_a'))?.secrets).toEqual(['whsec_new', 'whsec_old']);
    expect(src.state.reads).toBe(2);
  });

  it('keeps applications apart and caches "no such application" too', async () => {
    const src = source(null);
    const cache = new SigningSecretCache(src, { now: () => 0 });
    expect(await cache.get('app_gone')).toBeNull();
    expect(await cache.get('app_gone')).toBeNull();
    expect(await cache.get('app_other')).toBeNull();
    expect(src.state.reads).toBe(2);
  });

  it('shares one read among concurrent lookups', async () => {
    const src = source(signing(['whsec_a']));
    const cache = new SigningSecretCache(src);
    await Promise.all([cache.get('app_a'), cache.get('app_a'), cache.get('app_a')]);
    expect(src.state.reads).toBe(1);
  });

  it('does not cache a failed read', async () => {
    const src = source(signing(['whsec_a']));
    src.state.fail = true;
    const cache = new SigningSecretCache(src, { now: () => 0 });
    await expect(cache.get('app_a')).rejects.toThrow('redis down');
    src.state.fail = false;
    expect(await cache.get('app_a')).toEqual(signing(['whsec_a']));
  });

  it('never reads for the default application (jobs submitted without auth are unsigned)', async () => {
    const src = source(signing(['whsec_a']));
    const cache = new SigningSecretCache(src);
    expect(await cache.get(DEFAULT_APPLICATION)).toBeNull();
    expect(src.state.reads).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { URL_MAX_LENGTH, forbiddenUrlHost, networkAllowlist } from '@relay/common';
import {
  FORBIDDEN_HOST_CACHE_ENTRIES,
  cachedForbiddenUrlHost,
  cachedVerdictCount,
} from '../src/services/forbidden-host-cache.js';
import { forbiddenAddressProblems } from '../src/services/submission-guard.js';

/** The submission SSRF check remembers verdicts per URL and allowlist (pure inputs only). */
describe('cachedForbiddenUrlHost', () => {
  const urls = [
    'http://127.0.0.1:8080/x',
    'http://2130706433/',
    'http://[::ffff:7f00:1]/',
    'http://10.1.2.3/hook',
    'https://api.example/hook',
    'http://93.184.215.14/',
    'not a url',
  ];

  it('gives what forbiddenUrlHost gives, on a first and a repeated call', () => {
    const allowlist = networkAllowlist('');
    for (const url of urls) {
      const fresh = forbiddenUrlHost(url, allowlist);
      expect(cachedForbiddenUrlHost(url, allowlist)).toEqual(fresh);
      expect(cachedForbiddenUrlHost(url, allowlist)).toEqual(fresh);
    }
    expect(cachedVerdictCount(allowlist)).toBe(urls.length);
  });

  it('keeps verdicts apart per allowlist: a URL refused under one is allowed under another', () => {
    const closed = networkAllowlist('');
    const open = networkAllowlist('127.0.0.0/8');
    expect(cachedForbiddenUrlHost('http://127.0.0.1:9/', closed)).toMatchObject({ range: 'loopback' });
    expect(cachedForbiddenUrlHost('http://127.0.0.1:9/', open)).toBeNull();
    expect(cachedForbiddenUrlHost('http://127.0.0.1:9/', closed)).toMatchObject({ range: 'loopback' });
    expect(forbiddenAddressProblems({ targetUrl: 'http://127.0.0.1:9/' }, open)).toEqual([]);
    expect(forbiddenAddressProblems({ targetUrl: 'http://127.0.0.1:9/' }, closed).map((p) => p.instancePath)).toEqual([
      '/targetUrl',
    ]);
  });

  it('stays bounded under a stream of distinct URLs, and still judges each one', () => {
    const allowlist = networkAllowlist('');
    for (let i = 0; i < FORBIDDEN_HOST_CACHE_ENTRIES * 2 + 10; i++) {
      const url = i % 2 === 0 ? `http://10.0.${(i >> 8) & 255}.${i & 255}/` : `https://api.example/${i}`;
      const verdict = cachedForbiddenUrlHost(url, allowlist);
      if (i % 2 === 0) expect(verdict?.range).toBe('private');
      else expect(verdict).toBeNull();
      expect(cachedVerdictCount(allowlist)).toBeLessThanOrEqual(FORBIDDEN_HOST_CACHE_ENTRIES);
    }
    expect(cachedVerdictCount(allowlist)).toBeGreaterThan(0);
  });

  it('judges a URL longer than the schema allows without keeping it', () => {
    const allowlist = networkAllowlist('');
    const long = `http://10.0.0.1/${'a'.repeat(URL_MAX_LENGTH)}`;
    expect(cachedForbiddenUrlHost(long, allowlist)).toMatchObject({ range: 'private' });
    expect(cachedForbiddenUrlHost(long, allowlist)).toMatchObject({ range: 'private' });
    expect(cachedVerdictCount(allowlist)).toBe(0);
    expect(cachedForbiddenUrlHost('http://10.0.0.1/', allowlist)).toMatchObject({ range: 'private' });
    expect(cachedVerdictCount(allowlist)).toBe(1);
  });
});

import { URL_MAX_LENGTH, forbiddenUrlHost, type ForbiddenAddress, type NetworkAllowlist } from '@relay/common';

/**
 * Most submissions repeat their URLs (one callback endpoint, an
 * integration's target), and judging one takes two URL parses (WHATWG and as
 * written) and an ipaddr.js parse per IP form: about 4 µs per URL, a few
 * percent of the backend's CPU per job. The verdict is a pure function of the
 * URL string and the allowlist, so the last URLs' verdicts are kept per
 * allowlist. The map is dropped whole when full, so a stream of distinct URLs
 * costs what it did without the cache. The check runs before the schema's
 * verdict is known (every problem is reported at once), so a URL longer than
 * the schema allows is judged but not kept: memory stays under
 * FORBIDDEN_HOST_CACHE_ENTRIES × 2 KiB per allowlist, whatever clients send.
 */
export const FORBIDDEN_HOST_CACHE_ENTRIES = 4096;

const byAllowlist = new WeakMap<NetworkAllowlist, Map<string, ForbiddenAddress | null>>();

/** forbiddenUrlHost, remembered: the refused literal IP host of `url`, or null. */
export function cachedForbiddenUrlHost(url: string, allowlist: NetworkAllowlist): ForbiddenAddress | null {
  if (url.length > URL_MAX_LENGTH) return forbiddenUrlHost(url, allowlist);
  let verdicts = byAllowlist.get(allowlist);
  if (!verdicts) byAllowlist.set(allowlist, (verdicts = new Map()));
  let verdict = verdicts.get(url);
  if (verdict === undefined) {
    if (verdicts.size >= FORBIDDEN_HOST_CACHE_ENTRIES) verdicts.clear();
    verdict = forbiddenUrlHost(url, allowlist);
    verdicts.set(url, verdict);
  }
  return verdict;
}

/** For tests: how many verdicts are kept for `allowlist`. */
export function cachedVerdictCount(allowlist: NetworkAllowlist): number {
  return byAllowlist.get(allowlist)?.size ?? 0;
}

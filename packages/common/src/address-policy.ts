import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard's decisions, pure: which IP addresses relay may connect to
 * for a target or callback, and which are refused because they reach the
 * machine itself, its private networks or a special-purpose range. Address
 * parsing and range membership are ipaddr.js's (its `range()` follows the
 * IANA special-purpose registries); this module only decides.
 *
 * The worker applies it to the address it actually connects to (after DNS);
 * the backend applies it at submission to URLs whose host is an IP literal.
 */

type IP = ipaddr.IPv4 | ipaddr.IPv6;

/** What `RELAY_ALLOW_PRIVATE_NETWORKS` opens: ranges of addresses, and host names trusted whatever they resolve to. */
export interface NetworkAllowlist {
  readonly cidrs: readonly (readonly [IP, number])[];
  /** Lower-case, without a trailing dot. */
  readonly hosts: ReadonlySet<string>;
}

export const EMPTY_ALLOWLIST: NetworkAllowlist = Object.freeze({ cidrs: [], hosts: new Set<string>() });

/** A refused address: the form it was given in, and the special range it falls in. */
export interface ForbiddenAddress {
  address: string;
  /** ipaddr.js range name (`loopback`, `private`, `uniqueLocal`, `linkLocal`, `carrierGradeNat`, `reserved`…). */
  range: string;
  /** The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or Teredo address, when that is what was refused. */
  embedded?: string;
}

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Parses a comma-separated list of CIDRs (`127.0.0.0/8`, `::1/128`), single
 * addresses (taken as /32 or /128) and host names (`localhost`). Every
 * unusable entry is reported; an empty string is the empty allowlist.
 */
export function parseNetworkAllowlist(raw: string): { allowlist: NetworkAllowlist; problems: string[] } {
  const cidrs: [IP, number][] = [];
  const hosts = new Set<string>();
  const problems: string[] = [];
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    if (entry.includes('/')) {
      if (ipaddr.isValidCIDR(entry)) cidrs.push(ipaddr.parseCIDR(entry));
      else problems.push(`"${entry}" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)`);
    } else if (ipaddr.isValid(entry)) {
      const ip = ipaddr.parse(entry);
      cidrs.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(normalizeHostName(entry))) {
      hosts.add(normalizeHostName(entry));
    } else {
      problems.push(`"${entry}" is neither a CIDR (such as 10.0.0.0/8), an IP address nor a host name`);
    }
  }
  return { allowlist: Object.freeze({ cidrs, hosts }), problems };
}

/** The allowlist of a configuration value that was validated at start-up (throws on a problem). */
export function networkAllowlist(raw: string): NetworkAllowlist {
  const { allowlist, problems } = parseNetworkAllowlist(raw);
  if (problems.length > 0) throw new Error(`invalid network allowlist: ${problems.join('; ')}`);
  return allowlist;
}

/** Host names compare case-insensitively, and `localhost.` is `localhost`. */
export function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

export function isAllowlistedHost(host: string, allowlist: NetworkAllowlist): boolean {
  return allowlist.hosts.size > 0 && allowlist.hosts.has(normalizeHostName(host));
}

/** Global unicast (RFC 4291 §2.4): every other IPv6 address is reserved or special. */
const IPV6_GLOBAL_UNICAST: [ipaddr.IPv6, number] = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];
/** NAT64 well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached. */
const NAT64_WELL_KNOWN: [ipaddr.IPv6, number] = ipaddr.parseCIDR('64:ff9b::/96') as [ipaddr.IPv6, number];

function v4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The special range an address is in, or null for a public unicast address.
 * Forms that carry an IPv4 address inside IPv6 are judged by the IPv4
 * address they lead to: IPv4-mapped (`::ffff:127.0.0.1`), NAT64
 * (`64:ff9b::7f00:1`), 6to4 (`2002:7f00:1::`) and Teredo (server and
 * client, the latter stored inverted).
 */
function specialRange(ip: IP): { range: string; embedded?: string } | null {
  if (ip.kind() === 'ipv4') {
    const range = ip.range();
    return range === 'unicast' ? null : { range };
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range() as string;
  const embedded = (v4: ipaddr.IPv4) => {
    const inner = specialRange(v4);
    return inner ? { range: inner.range, embedded: v4.toString() } : null;
  };
  const p = v6.parts as [number, number, number, number, number, number, number, number];
  switch (range) {
    case 'ipv4Mapped':
      return embedded(v6.toIPv4Address());
    case 'rfc6052':
      // 64:ff9b:1::/48 is for local-use translators: refused whatever it embeds.
      return v6.match(NAT64_WELL_KNOWN) ? embedded(v4FromParts(p[6], p[7])) : { range };
    case '6to4':
      return embedded(v4FromParts(p[1], p[2]));
    case 'teredo':
      return embedded(v4FromParts(p[2], p[3])) ?? embedded(v4FromParts(p[6] ^ 0xffff, p[7] ^ 0xffff));
    case 'unicast':
      // ipaddr.js calls everything it has no name for unicast, including the
      // deprecated IPv4-compatible ::a.b.c.d and unassigned space.
      return v6.match(IPV6_GLOBAL_UNICAST) ? null : { range: 'reserved' };
    default:
      return { range };
  }
}

function inAllowlist(ip: IP, allowlist: NetworkAllowlist): boolean {
  // An IPv4-mapped address is the IPv4 address on a dual-stack socket.
  const forms: IP[] = [ip];
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    forms.push((ip as ipaddr.IPv6).toIPv4Address());
  return forms.some((form) =>
    allowlist.cidrs.some(([net, bits]) => net.kind() === form.kind() && form.match(net, bits)),
  );
}

/**
 * Whether relay may connect to `address` (an IP in any form ipaddr.js reads:
 * dotted, decimal, octal, hex, short IPv4; IPv6 with or without zone).
 * Returns null when allowed, else what was refused. Something that is not an
 * IP address at all is refused as `invalid`.
 */
export function checkAddress(address: string, allowlist: NetworkAllowlist = EMPTY_ALLOWLIST): ForbiddenAddress | null {
  if (!ipaddr.isValid(address)) return { address, range: 'invalid' };
  const ip = ipaddr.parse(address);
  const special = specialRange(ip);
  if (!special || inAllowlist(ip, allowlist)) return null;
  return { address, ...special };
}

/** "127.0.0.1 is a loopback address", "::ffff:a00:1 leads to 10.0.0.1, a private address". */
export function describeForbidden(f: ForbiddenAddress): string {
  if (f.range === 'invalid') return `${f.address} is not an IP address`;
  const what = `${RANGE_WORDS[f.range] ?? `a special-purpose (${f.range})`} address`;
  return f.embedded ? `${f.address} leads to ${f.embedded}, ${what}` : `${f.address} is ${what}`;
}

const RANGE_WORDS: Record<string, string> = {
  unspecified: 'an unspecified',
  broadcast: 'a broadcast',
  multicast: 'a multicast',
  linkLocal: 'a link-local',
  loopback: 'a loopback',
  carrierGradeNat: 'a carrier-grade NAT',
  private: 'a private',
  uniqueLocal: 'a unique local (private)',
  reserved: 'a reserved',
};

/**
 * The host of a URL as WHATWG parsing normalises it (which turns
 * `2130706433`, `0x7f.1` or `0177.0.0.1` into `127.0.0.1`) and as written
 * (in case another parser disagrees): every form that is an IP literal.
 */
function literalHosts(url: string): string[] {
  const forms = new Set<string>();
  try {
    forms.add(new URL(url).hostname);
  } catch {
    // Not a URL: the schema reports it.
  }
  const raw = /^[a-z][a-z0-9+.-]*:[/\\]{2}(?:[^/\\?#]*@)?(\[[^\]]*\]|[^:/\\?#]*)/i.exec(url.trim())?.[1];
  if (raw !== undefined) {
    forms.add(raw);
    try {
      forms.add(decodeURIComponent(raw));
    } catch {
      // Malformed percent-encoding: the WHATWG form above is what counts.
    }
  }
  return [...forms]
    .map((h) => h.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, ''))
    .filter((h) => h !== '' && ipaddr.isValid(h));
}

/**
 * For a submitted URL whose host is an IP literal: the refused address, or
 * null. Host names are not resolved here: the worker judges the addresses
 * they resolve to when it connects.
 */
export function forbiddenUrlHost(url: string, allowlist: NetworkAllowlist = EMPTY_ALLOWLIST): ForbiddenAddress | null {
  for (const host of literalHosts(url)) {
    const refused = checkAddress(host, allowlist);
    if (refused) return refused;
  }
  return null;
}

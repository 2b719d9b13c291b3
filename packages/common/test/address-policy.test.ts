import { describe, expect, it } from 'vitest';
import {
  checkAddress,
  describeForbidden,
  EMPTY_ALLOWLIST,
  forbiddenUrlHost,
  isAllowlistedHost,
  networkAllowlist,
  parseNetworkAllowlist,
} from '../src/address-policy.js';

/**
 * The SSRF guard's decisions as pure functions: classification only, nothing
 * here connects anywhere or resolves a name.
 */

/** [address as written, range it must be refused as]. */
const FORBIDDEN: [string, string][] = [
  // IPv4 loopback, in every literal form WHATWG and inet_aton accept
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['0x7f.0.0.1', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  // RFC 1918
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  // link-local, cloud metadata included
  ['169.254.169.254', 'linkLocal'],
  ['169.254.0.1', 'linkLocal'],
  // CGNAT
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.127.255.255', 'carrierGradeNat'],
  // multicast, unspecified, broadcast
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['255.255.255.255', 'broadcast'],
  // reserved and documentation ranges
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['240.0.0.1', 'reserved'],
  ['250.1.2.3', 'reserved'],
  // IPv6
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fc00::1', 'uniqueLocal'],
  ['fd12:3456:789a::1', 'uniqueLocal'],
  ['fe80::1', 'linkLocal'],
  ['fe80::1%eth0', 'linkLocal'],
  ['febf:ffff::1', 'linkLocal'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  ['::7f00:1', 'reserved'], // deprecated IPv4-compatible ::127.0.0.1
  ['fec0::1', 'deprecatedSiteLocal'],
  ['100::1', 'discard'],
  ['64:ff9b:1::a00:1', 'rfc6052'], // local-use NAT64: refused whatever it embeds
  // IPv4 inside IPv6: judged by the IPv4 address
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:a9fe:a9fe', 'linkLocal'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::169.254.169.254', 'linkLocal'],
  ['2002:7f00:1::1', 'loopback'], // 6to4 of 127.0.0.1
  ['2002:c0a8:101::1', 'private'], // 6to4 of 192.168.1.1
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // Teredo, client 127.0.0.1 (inverted)
  ['2001:0:a00:1:8000:63bf:3fff:fdd2', 'private'], // Teredo, server 10.0.0.1
];

/** Public unicast addresses: only classified here, never connected to. */
const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.215.14',
  '100.63.255.255',
  '100.128.0.1',
  '172.32.0.1',
  '11.0.0.1',
  '192.0.1.1',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::1',
  '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo, both embedded addresses public
];

describe('checkAddress with no allowlist', () => {
  it(`has at least 25 forbidden cases (${FORBIDDEN.length})`, () => {
    expect(FORBIDDEN.length).toBeGreaterThanOrEqual(25);
  });

  it.each(FORBIDDEN)('refuses %s (%s)', (address, range) => {
    expect(checkAddress(address)).toMatchObject({ address, range });
  });

  it.each(PUBLIC)('allows public %s', (address) => {
    expect(checkAddress(address)).toBeNull();
  });

  it('refuses what is not an IP address at all', () => {
    expect(checkAddress('localhost')).toEqual({ address: 'localhost', range: 'invalid' });
  });

  it('names the embedded IPv4 address it refused', () => {
    expect(checkAddress('::ffff:7f00:1')).toEqual({
      address: '::ffff:7f00:1',
      range: 'loopback',
      embedded: '127.0.0.1',
    });
    expect(describeForbidden(checkAddress('64:ff9b::a00:1')!)).toBe(
      '64:ff9b::a00:1 leads to 10.0.0.1, a private address',
    );
    expect(describeForbidden(checkAddress('169.254.169.254')!)).toBe('169.254.169.254 is a link-local address');
    expect(describeForbidden(checkAddress('0.0.0.0')!)).toBe('0.0.0.0 is an unspecified address');
  });
});

describe('checkAddress with an allowlist', () => {
  const allowlist = networkAllowlist('127.0.0.0/8, ::1/128, 10.1.0.0/16, 192.168.7.7, localhost');

  it.each([
    '127.0.0.1',
    '127.9.9.9',
    '2130706433',
    '0x7f.0.0.1',
    '127.1',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '10.1.2.3',
    '192.168.7.7',
  ])('allows allowlisted %s', (address) => {
    expect(checkAddress(address, allowlist)).toBeNull();
  });

  it.each([
    ['10.2.0.1', 'private'],
    ['192.168.7.8', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['::2', 'reserved'],
    ['fe80::1', 'linkLocal'],
    ['fd00::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    // The allowlist opens 127.0.0.0/8 as connected to, not every IPv6 form that
    // tunnels to it.
    ['64:ff9b::7f00:1', 'loopback'],
  ])('still refuses %s (%s)', (address, range) => {
    expect(checkAddress(address, allowlist)).toMatchObject({ range });
  });

  it.each(PUBLIC)('still allows public %s', (address) => {
    expect(checkAddress(address, allowlist)).toBeNull();
  });

  it('matches allowlisted host names case-insensitively, with or without the final dot', () => {
    expect(isAllowlistedHost('localhost', allowlist)).toBe(true);
    expect(isAllowlistedHost('LocalHost.', allowlist)).toBe(true);
    expect(isAllowlistedHost('localhost.example', allowlist)).toBe(false);
    expect(isAllowlistedHost('localhost', EMPTY_ALLOWLIST)).toBe(false);
  });
});

describe('forbiddenUrlHost (submission: IP literals only, no DNS)', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', 'loopback'],
    ['http://2130706433:8080/', 'loopback'],
    ['http://0x7f.0.0.1/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['HTTP://127.0.0.1./', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://user:pw@192.168.0.1/', 'private'],
    ['http://a@b@10.0.0.1/', 'private'],
    ['http://[::1]:3000/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[64:ff9b::7f00:1]/', 'loopback'],
    ['https://[fd00::1]:81/', 'uniqueLocal'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['https://100.64.1.1/', 'carrierGradeNat'],
  ])('refuses %s (%s)', (url, range) => {
    expect(forbiddenUrlHost(url)).toMatchObject({ range });
  });

  it.each([
    'http://localhost:3000/', // a host name: judged at connect time
    'https://api.example.com/orders',
    'http://127.0.0.1.nip.io/',
    'http://8.8.8.8/',
    'https://[2606:4700:4700::1111]/',
    'not a url',
  ])('lets %s through', (url) => {
    expect(forbiddenUrlHost(url)).toBeNull();
  });

  it('lets allowlisted literals through', () => {
    const allowlist = networkAllowlist('127.0.0.0/8,::1/128');
    expect(forbiddenUrlHost('http://127.0.0.1:8080/', allowlist)).toBeNull();
    expect(forbiddenUrlHost('http://2130706433/', allowlist)).toBeNull();
    expect(forbiddenUrlHost('http://[::ffff:127.0.0.1]/', allowlist)).toBeNull();
    expect(forbiddenUrlHost('http://[::1]/', allowlist)).toBeNull();
    expect(forbiddenUrlHost('http://10.0.0.1/', allowlist)).toMatchObject({ range: 'private' });
  });
});

describe('parseNetworkAllowlist', () => {
  it('reads CIDRs, single addresses and host names, ignoring blanks', () => {
    const { allowlist, problems } = parseNetworkAllowlist(
      ' 10.0.0.0/8 ,, fd00::/8, 192.168.1.1, ::1, Billing.Internal. ',
    );
    expect(problems).toEqual([]);
    expect(allowlist.cidrs.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '192.168.1.1/32',
      '::1/128',
    ]);
    expect([...allowlist.hosts]).toEqual(['billing.internal']);
  });

  it('is empty for an empty string', () => {
    const { allowlist, problems } = parseNetworkAllowlist('');
    expect(problems).toEqual([]);
    expect(allowlist.cidrs).toEqual([]);
    expect(allowlist.hosts.size).toBe(0);
  });

  it('reports every unusable entry', () => {
    expect(parseNetworkAllowlist('10.0.0.0/33,::1/129,a b,foo_bar,http://x,localhost').problems).toEqual([
      '"10.0.0.0/33" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
      '"::1/129" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
      '"a b" is neither a CIDR (such as 10.0.0.0/8), an IP address nor a host name',
      '"foo_bar" is neither a CIDR (such as 10.0.0.0/8), an IP address nor a host name',
      '"http://x" is not a valid CIDR (such as 10.0.0.0/8 or fd00::/8)',
    ]);
    expect(() => networkAllowlist('10.0.0.0/33')).toThrow(/not a valid CIDR/);
  });
});

import type dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_ALLOWLIST, ErrorCodes, networkAllowlist } from '@relay/common';
import {
  createGuardedAgent,
  ForbiddenAddressError,
  guardedLookup,
  type LookupFunction,
} from '../../src/http/connect-guard.js';
import { classifyRequestError } from '../../src/http/error-classification.js';
import { sendHttp } from '../../src/http/http-call.js';

/**
 * The SSRF guard on the connect path. Names resolve through injected lookup
 * functions, never real DNS; the only sockets opened go to servers on
 * 127.0.0.1 started here.
 */

/** A lookup over a fixed table: each call takes the next answer of its host (the last one repeats). */
function fakeLookup(
  table: Record<string, string[][]>,
): LookupFunction & { calls: { hostname: string; all: boolean }[] } {
  const calls: { hostname: string; all: boolean }[] = [];
  const lookup = ((hostname: string, options: dns.LookupOptions, callback: Parameters<LookupFunction>[2]) => {
    const answers = table[hostname];
    const n = calls.filter((c) => c.hostname === hostname).length;
    calls.push({ hostname, all: options.all === true });
    const addresses = answers?.[Math.min(n, answers.length - 1)];
    setImmediate(() => {
      if (!addresses) {
        const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        return callback(err, options.all ? [] : '');
      }
      const entries = addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
      if (options.all) return callback(null, entries);
      callback(null, entries[0]!.address, entries[0]!.family);
    });
  }) as LookupFunction & { calls: typeof calls };
  lookup.calls = calls;
  return lookup;
}

type LookupResult = { err: NodeJS.ErrnoException | null; address: string | dns.LookupAddress[]; family?: number };

function resolve(lookup: LookupFunction, hostname: string, all: boolean): Promise<LookupResult> {
  return new Promise((done) => lookup(hostname, { all }, (err, address, family) => done({ err, address, family })));
}

describe('guardedLookup', () => {
  const dnsTable = {
    'loopback.test': [['127.0.0.1']],
    'mixed.test': [['10.0.0.5', '93.184.215.14', '::1', '2606:4700:4700::1111', '169.254.169.254']],
    'private-only.test': [['10.0.0.5', 'fd00::1', '169.254.169.254']],
    'rebinding.test': [['93.184.215.14'], ['127.0.0.1']],
    'internal.test': [['10.1.2.3']],
  };

  it('refuses a name that resolves to 127.0.0.1 with no allowlist', async () => {
    for (const all of [true, false]) {
      const { err, address } = await resolve(
        guardedLookup(EMPTY_ALLOWLIST, fakeLookup(dnsTable)),
        'loopback.test',
        all,
      );
      expect(err).toBeInstanceOf(ForbiddenAddressError);
      expect(err).toMatchObject({ code: 'RELAY_ERR_FORBIDDEN_ADDRESS' });
      expect(err?.message).toBe(
        'refused to connect to loopback.test: 127.0.0.1 is a loopback address (allow it with RELAY_ALLOW_PRIVATE_NETWORKS)',
      );
      expect(address).toEqual(all ? [] : '');
    }
  });

  it('accepts it with 127.0.0.0/8 allowlisted', async () => {
    const lookup = guardedLookup(networkAllowlist('127.0.0.0/8'), fakeLookup(dnsTable));
    expect(await resolve(lookup, 'loopback.test', false)).toEqual({ err: null, address: '127.0.0.1', family: 4 });
    expect(await resolve(lookup, 'loopback.test', true)).toEqual({
      err: null,
      address: [{ address: '127.0.0.1', family: 4 }],
      family: undefined,
    });
  });

  it('drops the forbidden addresses of a mixed answer and connects only to the others', async () => {
    const lookup = guardedLookup(EMPTY_ALLOWLIST, fakeLookup(dnsTable));
    expect((await resolve(lookup, 'mixed.test', true)).address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
    // One address asked for: the first allowed one, not the first answered.
    expect(await resolve(lookup, 'mixed.test', false)).toEqual({ err: null, address: '93.184.215.14', family: 4 });

    const allowing = guardedLookup(networkAllowlist('::1/128'), fakeLookup(dnsTable));
    expect((await resolve(allowing, 'mixed.test', true)).address).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '::1', family: 6 },
      { address: '2606:4700:4700::1111', family: 6 },
    ]);
  });

  it('fails naming every refused address when none is allowed', async () => {
    const { err } = await resolve(guardedLookup(EMPTY_ALLOWLIST, fakeLookup(dnsTable)), 'private-only.test', true);
    expect(err).toBeInstanceOf(ForbiddenAddressError);
    expect((err as ForbiddenAddressError).refused.map((r) => r.range)).toEqual(['private', 'uniqueLocal', 'linkLocal']);
    expect(err?.message).toContain('169.254.169.254 is a link-local address');
  });

  it('judges each lookup on its own answer: a name that rebinds to 127.0.0.1 is refused the second time', async () => {
    const lookup = guardedLookup(EMPTY_ALLOWLIST, fakeLookup(dnsTable));
    expect(await resolve(lookup, 'rebinding.test', false)).toEqual({ err: null, address: '93.184.215.14', family: 4 });
    const second = await resolve(lookup, 'rebinding.test', false);
    expect(second.err).toBeInstanceOf(ForbiddenAddressError);
    expect(second.err?.message).toContain('127.0.0.1 is a loopback address');
  });

  it('passes an allowlisted host name through whatever it resolves to', async () => {
    const lookup = guardedLookup(networkAllowlist('Internal.Test'), fakeLookup(dnsTable));
    expect(await resolve(lookup, 'internal.test', false)).toEqual({ err: null, address: '10.1.2.3', family: 4 });
    const other = await resolve(lookup, 'private-only.test', false);
    expect(other.err).toBeInstanceOf(ForbiddenAddressError);
  });

  it('passes DNS errors through unchanged (retryable as before)', async () => {
    const { err } = await resolve(guardedLookup(EMPTY_ALLOWLIST, fakeLookup(dnsTable)), 'nowhere.test', false);
    expect(err).toMatchObject({ code: 'ENOTFOUND' });
    expect(classifyRequestError(err).retryable).toBe(true);
  });

  it('classifies a refusal as RELAY_ERR_FORBIDDEN_ADDRESS, not retryable', () => {
    const err = new ForbiddenAddressError('loopback.test', [{ address: '127.0.0.1', range: 'loopback' }]);
    expect(classifyRequestError(err)).toEqual({
      code: ErrorCodes.FORBIDDEN_ADDRESS.code,
      message: err.message,
      retryable: false,
    });
  });
});

describe('createGuardedAgent against a local server', () => {
  let agent: Agent | undefined;
  let server: http.Server | undefined;
  let hits = 0;

  afterEach(async () => {
    await agent?.destroy();
    await new Promise<void>((done) => {
      if (!server) return done();
      server.closeAllConnections();
      server.close(() => done());
    });
    agent = undefined;
    server = undefined;
    hits = 0;
  });

  /** A server on 127.0.0.1 that closes every connection, so each request makes a new one (and a new lookup). */
  async function listen(): Promise<number> {
    server = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end('ok');
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return (server.address() as AddressInfo).port;
  }

  function guarded(allow: string, lookup: LookupFunction): Agent {
    agent = createGuardedAgent({
      allowlist: networkAllowlist(allow),
      lookup,
      connections: 4,
      keepAliveTimeout: 10,
      connectTimeoutMs: 2000,
    });
    return agent;
  }

  const get = (a: Agent, url: string) =>
    sendHttp(a, { url, method: 'GET', headers: {}, body: null, timeoutMs: 5000, bodyCap: 1024 });

  it('refuses a host name resolving to 127.0.0.1 before any byte is sent; allows it when allowlisted', async () => {
    const port = await listen();
    const lookup = fakeLookup({ 'target.relay.test': [['127.0.0.1']] });

    const refused = await get(guarded('', lookup), `http://target.relay.test:${port}/`);
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatchObject({ code: 'RELAY_ERR_FORBIDDEN_ADDRESS', retryable: false });
    expect(refused.error?.message).toContain('127.0.0.1 is a loopback address');
    expect(hits).toBe(0);
    await agent!.destroy();

    expect((await get(guarded('127.0.0.0/8', lookup), `http://target.relay.test:${port}/`)).statusCode).toBe(200);
    await agent!.destroy();
    expect((await get(guarded('target.relay.test', lookup), `http://target.relay.test:${port}/`)).statusCode).toBe(200);
    expect(hits).toBe(2);
  });

  it.each(['127.0.0.1', '2130706433', '0x7f.0.0.1', '127.1', '[::ffff:127.0.0.1]', '[::1]'])(
    'refuses the IP literal %s without a lookup',
    async (host) => {
      const port = await listen();
      const lookup = fakeLookup({});
      const result = await get(guarded('', lookup), `http://${host}:${port}/`);
      expect(result.error).toMatchObject({ code: 'RELAY_ERR_FORBIDDEN_ADDRESS', retryable: false });
      expect(lookup.calls).toEqual([]);
      expect(hits).toBe(0);
    },
  );

  it('connects to an allowlisted IP literal', async () => {
    const port = await listen();
    expect((await get(guarded('127.0.0.1/32', fakeLookup({})), `http://127.0.0.1:${port}/`)).statusCode).toBe(200);
    expect(hits).toBe(1);
  });

  it('judges the address of each new connection: a host rebinding from an allowed to a refused address is refused', async () => {
    const port = await listen();
    // Both loopback (the only addresses a test may use): 127.0.0.1 is allowlisted, 127.0.0.2 is not.
    const lookup = fakeLookup({ 'rebind.relay.test': [['127.0.0.1'], ['127.0.0.2']] });
    const a = guarded('127.0.0.1/32', lookup);
    expect((await get(a, `http://rebind.relay.test:${port}/`)).statusCode).toBe(200);
    const second = await get(a, `http://rebind.relay.test:${port}/`);
    expect(second.error).toMatchObject({ code: 'RELAY_ERR_FORBIDDEN_ADDRESS', retryable: false });
    expect(second.error?.message).toContain('127.0.0.2 is a loopback address');
    expect(lookup.calls.map((c) => c.hostname)).toEqual(['rebind.relay.test', 'rebind.relay.test']);
    expect(hits).toBe(1);
  });
});

import dns from 'node:dns';
import net from 'node:net';
import { Agent, buildConnector } from 'undici';
import {
  checkAddress,
  describeForbidden,
  ErrorCodes,
  isAllowlistedHost,
  type ForbiddenAddress,
  type NetworkAllowlist,
} from '@relay/common';

/**
 * The connect-time SSRF guard: it judges the address a socket is about to
 * connect to, the only check that sees the address actually used (the
 * backend's submission-time check only sees the URL). Host names are judged
 * on what DNS answered for this very connection (so a name that resolves to
 * 127.0.0.1, or that answers a public address first and a private one later,
 * is refused when it matters); IP literals, which net.connect does not look
 * up, are judged before connecting. Targets and callbacks share the one Agent
 * built here.
 */

/** Same shape as `dns.lookup` (what net.connect calls); tests inject one that never touches real DNS. */
export type LookupFunction = net.LookupFunction;

/** A connection refused by the guard. Never retried: the same host will lead to the same address. */
export class ForbiddenAddressError extends Error {
  readonly code = ErrorCodes.FORBIDDEN_ADDRESS.code;

  constructor(
    readonly host: string,
    readonly refused: ForbiddenAddress[],
  ) {
    const why = refused.map(describeForbidden).join('; ');
    super(`refused to connect to ${host}: ${why || 'no address'} (allow it with RELAY_ALLOW_PRIVATE_NETWORKS)`);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * Wraps `lookup` so that it only ever hands out allowed addresses: forbidden
 * ones are dropped, and when none is left the lookup fails with
 * ForbiddenAddressError. Host names on the allowlist are passed through.
 * Answers in both forms net.connect asks for (`all: true` when it tries
 * several addresses, autoSelectFamily; one address otherwise).
 */
export function guardedLookup(allowlist: NetworkAllowlist, lookup: LookupFunction = dns.lookup): LookupFunction {
  return (hostname, options, callback) => {
    if (isAllowlistedHost(hostname, allowlist)) return lookup(hostname, options, callback);
    lookup(hostname, { ...options, all: true }, (err, result, family) => {
      if (err) return callback(err, options.all ? [] : '');
      const addresses: dns.LookupAddress[] = Array.isArray(result)
        ? result
        : [{ address: result, family: family ?? net.isIP(result) }];
      const allowed: dns.LookupAddress[] = [];
      const refused: ForbiddenAddress[] = [];
      for (const entry of addresses) {
        const forbidden = checkAddress(entry.address, allowlist);
        if (forbidden) refused.push(forbidden);
        else allowed.push(entry);
      }
      const first = allowed[0];
      if (!first) return callback(new ForbiddenAddressError(hostname, refused), options.all ? [] : '');
      if (options.all) return callback(null, allowed);
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardOptions {
  allowlist: NetworkAllowlist;
  /** DNS resolution; defaults to `dns.lookup` (what net.connect uses). */
  lookup?: LookupFunction;
  /** TCP (and TLS) connect deadline in ms (OUTBOUND_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs: number;
}

/** An undici connector that refuses forbidden addresses, literal or resolved. */
export function guardedConnector(options: GuardOptions): buildConnector.connector {
  const connect = buildConnector({
    timeout: options.connectTimeoutMs,
    lookup: guardedLookup(options.allowlist, options.lookup),
  });
  return (opts, callback) => {
    // undici passes IPv6 hosts without brackets. An IP literal skips lookup
    // in net.connect, so this is its only check.
    if (net.isIP(opts.hostname) !== 0) {
      const forbidden = checkAddress(opts.hostname, options.allowlist);
      if (forbidden) {
        // Asynchronously, as a failed connect would be.
        queueMicrotask(() => callback(new ForbiddenAddressError(opts.hostname, [forbidden]), null));
        return;
      }
    }
    connect(opts, callback);
  };
}

/** The worker's outbound Agent (targets and callbacks): keep-alive pools behind the guard. */
export function createGuardedAgent(
  options: GuardOptions & {
    /** Sockets per origin. */
    connections: number;
    /** Idle keep-alive in ms. */
    keepAliveTimeout: number;
  },
): Agent {
  return new Agent({
    keepAliveTimeout: options.keepAliveTimeout,
    connections: options.connections,
    connect: guardedConnector(options),
  });
}

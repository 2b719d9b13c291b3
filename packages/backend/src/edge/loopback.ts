import { isIP } from 'node:net';

/**
 * Loopback names, as pure decisions (no lookup): RELAY_AUTH=off is tolerable
 * only when nothing but this machine can reach the API, so a name counts as
 * loopback only when it cannot resolve elsewhere: an IP literal in
 * 127.0.0.0/8 or ::1, or `localhost` (which Node and browsers map to loopback
 * without asking DNS). `127.0.0.1.example` is a host name, not loopback.
 */
export function isLoopbackAddress(address: string): boolean {
  const host = address.toLowerCase();
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return host.split('.')[0] === '127';
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(host);
  return false;
}

/**
 * Whether a Host header names this machine by a loopback name, with or
 * without a port: `localhost`, `127.x.y.z`, `[::1]`. Anything else (a DNS
 * name that a web page rebound to 127.0.0.1, an empty or absent header) is
 * refused in keys-off mode.
 */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim());
  if (!match) return false;
  const name = match[1]!;
  if (name.startsWith('[')) return isLoopbackAddress(name.slice(1, -1));
  // A bracket-less IPv6 literal is not a valid Host header.
  return isIP(name) !== 6 && isLoopbackAddress(name);
}

import type { ServerOptions } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import type { BackendConfig } from '../config.js';

type EdgeTimeouts = Pick<
  BackendConfig,
  'requestTimeoutMs' | 'headersTimeoutMs' | 'connectionTimeoutMs' | 'keepAliveTimeoutMs' | 'maxRequestsPerSocket'
>;

/**
 * The HTTP server's time and reuse limits, so that no client holds a socket
 * for ever: headers must arrive within headersTimeoutMs and the whole request
 * (a promised body included) within requestTimeoutMs, however slowly it
 * trickles; an idle socket closes after connectionTimeoutMs, an idle
 * keep-alive one after keepAliveTimeoutMs.
 *
 * Node checks the headers and request deadlines on a timer
 * (connectionsCheckingInterval, 30 s by default): it runs at least every
 * second, and more often for deadlines under two seconds, so a deadline is
 * enforced close to its configured value.
 */
export function edgeServerOptions(config: EdgeTimeouts): Partial<FastifyServerOptions> & { http: ServerOptions } {
  const checkEvery = Math.max(100, Math.min(1000, Math.floor(config.headersTimeoutMs / 2)));
  return {
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    maxRequestsPerSocket: config.maxRequestsPerSocket,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: checkEvery,
    },
  };
}

import type { FastifyInstance } from 'fastify';
import { RelayError } from '@relay/common';
import { isLoopbackHostHeader } from './loopback.js';

/**
 * In keys-off mode every request must name the server by a loopback name in
 * its Host header. A web page that rebinds its own DNS name to 127.0.0.1
 * sends that name as Host, so it gets 421 instead of an open relay. Runs
 * before routing decisions, on every route (health and docs included), so
 * nothing of the local relay is readable across origins.
 */
export function installLoopbackHostGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (!isLoopbackHostHeader(request.headers.host)) {
      throw new RelayError('MISDIRECTED_HOST', {
        message: 'With RELAY_AUTH=off the API answers only to Host: localhost, 127.x.y.z or [::1]',
      });
    }
  });
}

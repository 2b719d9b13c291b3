import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { RelayError } from '@relay/common';

/** The `application` label value when tenant labels are off: one series for all. */
export const ALL_APPLICATIONS_LABEL = '_all';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The onRequest check of GET /metrics when METRICS_TOKEN is set: the scraper
 * sends `Authorization: Bearer <token>` (Prometheus `authorization`
 * credentials); anything else is a 401. Compared as SHA-256 digests in
 * constant time, so timing tells nothing of the token.
 */
export function metricsTokenCheck(token: string): (request: FastifyRequest) => Promise<void> {
  const expected = digest(token);
  return async (request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      throw new RelayError('UNAUTHORIZED', {
        message: 'GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`',
        headers: { 'www-authenticate': 'Bearer realm="relay-metrics"' },
      });
    }
  };
}

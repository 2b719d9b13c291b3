import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import {
  ApplicationStore,
  DEFAULT_APPLICATION,
  RelayError,
  secretKeys,
  type AuthenticatedApplication,
  type JobStore,
} from '@relay/common';
import type { BackendConfig } from '../config.js';

/**
 * Who may call a route:
 * - `application`: an application key; the request acts on that application's jobs.
 * - `master`: the master key (RELAY_MASTER_KEY) only: managing applications.
 * - `any`: either key (GET /api/metrics: the master sees the whole cluster).
 * - `public`: no key (health, Prometheus metrics, docs).
 * Routes under /api default to `application`, others to `public`.
 */
export type Access = 'application' | 'master' | 'any' | 'public';

export type Principal =
  { kind: 'master' } | { kind: 'application'; application: AuthenticatedApplication } | { kind: 'anonymous' };

declare module 'fastify' {
  interface FastifyInstance {
    applications: ApplicationStore;
  }
  interface FastifyRequest {
    principal: Principal;
    /** The job store of the calling application (set for `application` and `any` routes). */
    jobs: JobStore;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** The API key of a request: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function apiKeyOf(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1]!;
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header.trim() !== '' ? header.trim() : null;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function unauthorized(message?: string): RelayError {
  return new RelayError('UNAUTHORIZED', {
    ...(message ? { message } : {}),
    headers: { 'www-authenticate': 'Bearer realm="relay"' },
  });
}

/**
 * Authenticates every /api request before anything else runs. Application
 * keys are looked up by their SHA-256 hash (a second round trip reads the
 * record of a key that exists: the answer tells that anyway); the master key
 * is compared in constant time. Nothing is cached: a revoked key fails on its next request.
 */
export default fp<{ config: BackendConfig }>(
  async (app, { config }) => {
    const applications = new ApplicationStore(app.redis, {
      prefix: config.prefix,
      secretKey: secretKeys(config.secretKey, config.secretKeysPrevious),
    });
    const moved = await applications.migrateRecords(config.prefix);
    if (moved > 0) app.log.info({ moved }, 'application records moved to the hash-tagged layout');
    app.decorate('applications', applications);
    // Placeholders of the right shape; the hook below sets both on every request it admits.
    app.decorateRequest<Principal, 'principal'>('principal', null as unknown as Principal);
    app.decorateRequest<JobStore, 'jobs'>('jobs', null as unknown as JobStore);
    const masterDigest = config.masterKey ? digest(config.masterKey) : null;
    const defaultApplication: AuthenticatedApplication = { id: DEFAULT_APPLICATION, rateLimit: null };

    app.addHook('onRequest', async (request) => {
      const access: Access =
        request.routeOptions.config.access ?? (request.routeOptions.url?.startsWith('/api') ? 'application' : 'public');
      if (access === 'public') {
        request.principal = { kind: 'anonymous' };
        return;
      }
      if (config.auth === 'off') {
        // Loopback only (checked at start-up): every caller is the default application.
        request.principal = { kind: 'application', application: defaultApplication };
        request.jobs = app.jobStore;
        return;
      }
      // Strangers (401s counted per IP) are refused before any key is looked up.
      await app.strangers.refuseIfOver(request);
      const key = apiKeyOf(request);
      if (!key) {
        throw (
          (await app.strangers.countRefusal(request)) ??
          unauthorized('No API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`')
        );
      }
      let principal: Principal;
      if (masterDigest && timingSafeEqual(digest(key), masterDigest)) {
        principal = { kind: 'master' };
      } else {
        const found = await app.applications.authenticate(key);
        if (!found) {
          throw (
            (await app.strangers.countRefusal(request)) ?? unauthorized('The API key is not valid (unknown or revoked)')
          );
        }
        principal = { kind: 'application', application: found };
      }
      if (access === 'master' && principal.kind !== 'master') {
        throw new RelayError('FORBIDDEN', { message: 'Only the master key may manage applications' });
      }
      if (access === 'application' && principal.kind !== 'application') {
        throw new RelayError('FORBIDDEN', {
          message: 'The master key manages applications; use an application key for jobs',
        });
      }
      request.principal = principal;
      if (principal.kind === 'application') request.jobs = app.jobStore.forApplication(principal.application.id);
    });
  },
  { name: 'relay-auth', dependencies: ['relay-redis'] },
);

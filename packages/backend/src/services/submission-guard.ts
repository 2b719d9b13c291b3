import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { describeForbidden, type NetworkAllowlist } from '@relay/common';
import { cachedForbiddenUrlHost } from './forbidden-host-cache.js';

/** A URL of a request body that relay will connect to, and where it is (a JSON pointer). */
export interface UrlAt {
  path: string;
  url: string;
}

/** Where a body keeps the URLs relay connects to. */
export type UrlLocator = (body: unknown) => UrlAt[];

function field(body: Record<string, unknown>, name: string): UrlAt[] {
  const url = body[name];
  return typeof url === 'string' ? [{ path: `/${name}`, url }] : [];
}

/** The string values of an object field: a webhooks map (`{key: url}`; null values remove a key). */
function mapValues(body: Record<string, unknown>, name: string): UrlAt[] {
  const map = body[name];
  if (typeof map !== 'object' || map === null) return [];
  return Object.entries(map)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([key, url]) => ({ path: `/${name}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, url }));
}

function asObject(body: unknown): Record<string, unknown> | null {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : null;
}

/** A job spec: targetUrl, callbackUrl and every URL of its webhooks. */
export const jobSpecUrls: UrlLocator = (body) => {
  const o = asObject(body);
  return o ? [...field(o, 'targetUrl'), ...field(o, 'callbackUrl'), ...mapValues(o, 'webhooks')] : [];
};

/** A subscription (create or patch): its url. */
export const subscriptionUrls: UrlLocator = (body) => {
  const o = asObject(body);
  return o ? field(o, 'url') : [];
};

/** A change of a job's webhooks: `{webhooks: {key: url | null}}`. */
export const webhooksChangeUrls: UrlLocator = (body) => {
  const o = asObject(body);
  return o ? mapValues(o, 'webhooks') : [];
};

/**
 * Submission validation beyond the schema: the SSRF check a job spec gets
 * before it is accepted (the worker's connect-time guard judges the addresses
 * a host resolves to) and the refusal of URLs with user info.
 */

/**
 * The SSRF check at submission: a URL relay connects to (targetUrl,
 * callbackUrl, a webhook, a subscription's url) whose host is a
 * literal forbidden IP (in any form: `127.1`, `2130706433`, `[::ffff:7f00:1]`…)
 * is a problem of the request, reported as the schema's own problems are.
 * Host names are not resolved here: the worker judges the addresses they
 * resolve to when it connects.
 */
export function forbiddenAddressProblems(
  body: unknown,
  allowlist: NetworkAllowlist,
  urls: UrlLocator = jobSpecUrls,
): FastifySchemaValidationError[] {
  const problems: FastifySchemaValidationError[] = [];
  for (const { path, url } of urls(body)) {
    const forbidden = cachedForbiddenUrlHost(url, allowlist);
    if (!forbidden) continue;
    problems.push({
      keyword: 'x-forbiddenAddress',
      instancePath: path,
      schemaPath: '#/x-forbiddenAddress',
      params: { address: forbidden.address, range: forbidden.range },
      message: `must not point at a loopback, private, link-local or reserved address: ${describeForbidden(forbidden)} (see RELAY_ALLOW_PRIVATE_NETWORKS)`,
    });
  }
  return problems;
}

/**
 * A URL relay connects to with user info (`http://user:pass@host/`) is
 * refused: relay does not send it (undici drops it), so accepting it would
 * silently call without the credentials the client meant to send, and would
 * keep them in the job where the API shows them. Credentials go in headers.
 * A URL the parser refuses is left to the schema's own problems.
 */
export function userInfoProblems(body: unknown, urls: UrlLocator = jobSpecUrls): FastifySchemaValidationError[] {
  const problems: FastifySchemaValidationError[] = [];
  for (const { path, url } of urls(body)) {
    if (!URL.canParse(url)) continue;
    // Any '@' before the path, query or fragment: `user@`, `:pw@` and a bare `@` alike.
    const authority = url.replace(/^[^:]*:\/\//, '').split(/[/?#]/, 1)[0]!;
    if (!authority.includes('@')) continue;
    problems.push({
      keyword: 'x-userInfo',
      instancePath: path,
      schemaPath: '#/x-userInfo',
      params: {},
      message: 'must not contain user info (user:password@); send credentials in headers',
    });
  }
  return problems;
}

/**
 * For a route with `attachValidation: true`: throws the schema's problems and
 * the forbidden addresses together, as one validation error for the central
 * error handler, so that the client sees every problem at once.
 */
export function rejectInvalidSubmission(
  request: FastifyRequest,
  allowlist: NetworkAllowlist,
  urls: UrlLocator = jobSpecUrls,
  extra: FastifySchemaValidationError[] = [],
): void {
  const schemaError = request.validationError;
  const validation = [
    ...(schemaError?.validation ?? []),
    ...forbiddenAddressProblems(request.body, allowlist, urls),
    ...userInfoProblems(request.body, urls),
    ...extra,
  ];
  if (validation.length === 0) return;
  throw Object.assign(new Error('The request is invalid'), {
    statusCode: 400,
    validation,
    validationContext: schemaError?.validationContext ?? 'body',
  });
}

import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { describeForbidden, forbiddenUrlHost, type NetworkAllowlist } from '@relay/common';

/** The URL fields of a job spec that relay connects to. */
const URL_FIELDS = ['targetUrl', 'callbackUrl'] as const;

/**
 * Submission validation beyond the schema: the SSRF check a job spec gets
 * before it is accepted (the worker's connect-time guard judges the addresses
 * a host resolves to) and the refusal of URLs with user info.
 */

/**
 * The SSRF check at submission: a targetUrl or callbackUrl whose host is a
 * literal forbidden IP (in any form: `127.1`, `2130706433`, `[::ffff:7f00:1]`…)
 * is a problem of the request, reported as the schema's own problems are.
 * Host names are not resolved here: the worker judges the addresses they
 * resolve to when it connects.
 */
export function forbiddenAddressProblems(body: unknown, allowlist: NetworkAllowlist): FastifySchemaValidationError[] {
  if (typeof body !== 'object' || body === null) return [];
  const problems: FastifySchemaValidationError[] = [];
  for (const field of URL_FIELDS) {
    const url = (body as Record<string, unknown>)[field];
    if (typeof url !== 'string') continue;
    const forbidden = forbiddenUrlHost(url, allowlist);
    if (!forbidden) continue;
    problems.push({
      keyword: 'x-forbiddenAddress',
      instancePath: `/${field}`,
      schemaPath: '#/x-forbiddenAddress',
      params: { address: forbidden.address, range: forbidden.range },
      message: `must not point at a loopback, private, link-local or reserved address: ${describeForbidden(forbidden)} (see RELAY_ALLOW_PRIVATE_NETWORKS)`,
    });
  }
  return problems;
}

/**
 * A targetUrl or callbackUrl with user info (`http://user:pass@host/`) is
 * refused: relay does not send it (undici drops it), so accepting it would
 * silently call without the credentials the client meant to send, and would
 * keep them in the job where the API shows them. Credentials go in headers.
 * A URL the parser refuses is left to the schema's own problems.
 */
export function userInfoProblems(body: unknown): FastifySchemaValidationError[] {
  if (typeof body !== 'object' || body === null) return [];
  const problems: FastifySchemaValidationError[] = [];
  for (const field of URL_FIELDS) {
    const url = (body as Record<string, unknown>)[field];
    if (typeof url !== 'string' || !URL.canParse(url)) continue;
    // Any '@' before the path, query or fragment: `user@`, `:pw@` and a bare `@` alike.
    const authority = url.replace(/^[^:]*:\/\//, '').split(/[/?#]/, 1)[0]!;
    if (!authority.includes('@')) continue;
    problems.push({
      keyword: 'x-userInfo',
      instancePath: `/${field}`,
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
export function rejectInvalidSubmission(request: FastifyRequest, allowlist: NetworkAllowlist): void {
  const schemaError = request.validationError;
  const validation = [
    ...(schemaError?.validation ?? []),
    ...forbiddenAddressProblems(request.body, allowlist),
    ...userInfoProblems(request.body),
  ];
  if (validation.length === 0) return;
  throw Object.assign(new Error('The request is invalid'), {
    statusCode: 400,
    validation,
    validationContext: schemaError?.validationContext ?? 'body',
  });
}

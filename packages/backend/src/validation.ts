import { Ajv, type ErrorObject, type Options, type SchemaValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { headerBytes, type ErrorDetail } from '@relay/common';

/**
 * Two Ajv instances: bodies are validated strictly (no type coercion, unknown
 * fields are errors, not silently removed); params and query strings, which
 * are always strings on the wire, are coerced to the declared types.
 */
const shared: Options = { allErrors: true, useDefaults: true, removeAdditional: false, strict: false };
const bodyAjv = addFormats.default(new Ajv({ ...shared, coerceTypes: false }));
const paramAjv = addFormats.default(new Ajv({ ...shared, coerceTypes: 'array' }));

/**
 * `x-maxTotalBytes: n` on a headers object: its names and values together
 * take at most n bytes (UTF-8). See HeaderLimits in the job schema.
 */
const maxTotalBytes: SchemaValidateFunction = (limit: number, data: unknown): boolean => {
  if (typeof data !== 'object' || data === null) return true;
  // Values that are not strings fail their own schema; only sum proper headers.
  const entries = Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string');
  const total = headerBytes(Object.fromEntries(entries));
  if (total <= limit) return true;
  maxTotalBytes.errors = [
    {
      keyword: 'x-maxTotalBytes',
      params: { limit, total },
      message: `take ${total} bytes in all (names and values); at most ${limit} are allowed`,
    },
  ];
  return false;
};
for (const ajv of [bodyAjv, paramAjv]) {
  ajv.addKeyword({
    keyword: 'x-maxTotalBytes',
    type: 'object',
    schemaType: 'number',
    errors: true,
    validate: maxTotalBytes,
  });
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : paramAjv;
  return ajv.compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
};

/** What HEADER_VALUE_PATTERN allows, in words. */
export const HEADER_VALUE_MESSAGE =
  'must hold only tab, printable ASCII and Latin-1 characters (no CR, LF, NUL, DEL or other control characters, nothing above U+00FF)';

/** Where in the request an error points: `/body/targetUrl`, `/params/jobId`… */
function joinPath(context: string, instancePath: string, child?: string): string {
  const base = `/${context}${instancePath}`;
  return child === undefined ? base : `${base}/${child.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function describe(error: ErrorObject, context: string): ErrorDetail {
  const params = error.params as Record<string, unknown>;
  const inHeaders = /\/headers$/.test(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties':
      return inHeaders
        ? {
            path: joinPath(context, error.instancePath, String(params.additionalProperty)),
            message: 'is not a valid HTTP header name',
          }
        : {
            path: joinPath(context, error.instancePath, String(params.additionalProperty)),
            message: 'is not a known field',
          };
    case 'required':
      return { path: joinPath(context, error.instancePath, String(params.missingProperty)), message: 'is required' };
    case 'propertyNames':
      return {
        path: joinPath(context, error.instancePath, String(params.propertyName)),
        message: 'is a reserved or hop-by-hop header that relay sets itself',
      };
    case 'enum':
      return {
        path: joinPath(context, error.instancePath),
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    case 'format':
    case 'pattern':
      if (/\/headers\/[^/]+$/.test(error.instancePath)) {
        return { path: joinPath(context, error.instancePath), message: HEADER_VALUE_MESSAGE };
      }
      if (/Url$/.test(error.instancePath)) {
        return { path: joinPath(context, error.instancePath), message: 'must be an absolute http: or https: URL' };
      }
      if (params.format === 'uuid') return { path: joinPath(context, error.instancePath), message: 'must be a UUID' };
      return { path: joinPath(context, error.instancePath), message: error.message ?? 'is invalid' };
    default:
      return { path: joinPath(context, error.instancePath), message: error.message ?? 'is invalid' };
  }
}

/**
 * Turns Ajv's errors into one detail per problem. Keywords that only restate
 * a child's failure (`not` under `propertyNames`) are dropped, and identical
 * details are merged.
 */
export function formatValidationErrors(errors: ErrorObject[], context: string): ErrorDetail[] {
  const seen = new Set<string>();
  const out: ErrorDetail[] = [];
  for (const error of errors) {
    if (error.keyword === 'not' && error.propertyName !== undefined) continue;
    if (error.keyword === 'if') continue;
    const detail = describe(error, context);
    const key = `${detail.path}\u0000${detail.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(detail);
    }
  }
  return out;
}

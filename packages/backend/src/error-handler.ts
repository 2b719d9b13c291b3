import type { FastifyError, FastifyInstance } from 'fastify';
import type { ErrorObject } from 'ajv';
import {
  AcceptUncertainError,
  ErrorCodes,
  RelayError,
  ServiceUnavailableError,
  type ErrorBody,
  type ErrorCodeName,
} from '@relay/common';
import { STATUS_CODES } from 'node:http';
import { formatValidationErrors } from './validation.js';

/** Fastify's own error codes mapped to relay's. */
const FASTIFY_CODES: Record<string, ErrorCodeName> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
};

function body(statusCode: number, code: string, message: string, details?: ErrorBody['details']): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(details ? { details } : {}) };
}

/**
 * The one place errors become responses: every error is the JSON ErrorBody,
 * never HTML or a stack trace; 5xx are logged with the request and answered
 * without internals. The stores and the job queue throw
 * ServiceUnavailableError for any Redis or RabbitMQ failure, so no route
 * catches those itself: the answer is a 503 with Retry-After, and the log line
 * names the service and carries the client library's error.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | RelayError, request, reply) => {
    if (err instanceof RelayError) {
      if (err.statusCode >= 500) {
        const service = err instanceof ServiceUnavailableError ? { service: err.service } : {};
        request.log.error({ err: err.cause ?? err, ...service }, err.message);
      }
      const sent = body(err.statusCode, err.code, err.message, err.details.length ? err.details : undefined);
      if (err instanceof AcceptUncertainError) sent.jobId = err.jobId;
      return reply.code(err.statusCode).headers(err.headers).send(sent);
    }
    const fe = err as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
    if (fe.validation) {
      const details = formatValidationErrors(fe.validation, fe.validationContext ?? 'body');
      const v = ErrorCodes.VALIDATION;
      return reply
        .code(400)
        .send(body(400, v.code, `${v.message}: ${details.length} problem${details.length === 1 ? '' : 's'}`, details));
    }
    const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
    if (mapped) {
      const def = ErrorCodes[mapped];
      return reply.code(def.statusCode).send(body(def.statusCode, def.code, def.message));
    }
    const status = fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500 ? fe.statusCode : 500;
    if (status < 500) {
      return reply.code(status).send(body(status, fe.code ?? 'RELAY_ERR_REQUEST', fe.message));
    }
    request.log.error({ err }, 'unhandled error');
    const def = ErrorCodes.INTERNAL;
    return reply.code(500).send(body(500, def.code, def.message));
  });

  app.setNotFoundHandler((request, reply) => {
    const def = ErrorCodes.NOT_FOUND;
    reply.code(404).send(body(404, def.code, `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}

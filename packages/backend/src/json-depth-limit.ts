import type { FastifyInstance } from 'fastify';
import { findJsonDepthExcess, jsonPointer, RelayError } from '@relay/common';

/**
 * Refuses a JSON body that nests objects and arrays deeper than `maxDepth`
 * (JSON_MAX_DEPTH) with 400 RELAY_ERR_JSON_TOO_DEEP, whose detail points at
 * the first value past the limit. It runs as a preValidation hook of the
 * root, so every route with a body gets it, before its schema is checked and
 * before anything is stored: relay's own serialisation of a value nested
 * some thousands deep throws, which would otherwise surface as a 5xx the
 * client retries for ever. The check is iterative (json-depth.ts).
 */
export function installJsonDepthLimit(app: FastifyInstance, maxDepth: number): void {
  app.addHook('preValidation', async (request) => {
    const path = findJsonDepthExcess(request.body, maxDepth);
    if (path === null) return;
    throw new RelayError('JSON_TOO_DEEP', {
      message: `The request body nests objects and arrays deeper than ${maxDepth} levels`,
      details: [
        {
          path: `/body${jsonPointer(path)}`,
          message: `is nested deeper than ${maxDepth} levels (JSON_MAX_DEPTH)`,
        },
      ],
    });
  });
}

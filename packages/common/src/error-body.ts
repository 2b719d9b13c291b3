import { Type, type Static } from 'typebox';

/**
 * The JSON body of every error response: the HTTP status again, the stable
 * `RELAY_ERR_*` code to switch on, the status text, a message for humans, and
 * for an invalid request every problem found (a JSON pointer and what is wrong).
 */
export const ErrorBodySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  /** The job concerned, when a 503 leaves one that may still run (RELAY_ERR_ACCEPT_UNCERTAIN). */
  jobId: Type.Optional(Type.String()),
  details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export type ErrorBody = Static<typeof ErrorBodySchema>;

import { Type } from 'typebox';
import { JobViewSchema } from '@relay/common';

export const JobIdParamsSchema = Type.Object(
  { jobId: Type.String({ format: 'uuid', description: 'The id returned by POST /api/jobs' }) },
  { additionalProperties: false },
);

export const JobAcceptedSchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  status: Type.Literal('queued'),
  message: Type.String(),
});

export const ErrorBodySchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

export { JobViewSchema };

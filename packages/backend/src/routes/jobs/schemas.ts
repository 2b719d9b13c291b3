import { Type } from 'typebox';
import { JobStatusSchema, JobSummarySchema, JobViewSchema, AttemptSchema, MetadataLimits } from '@relay/common';

export const JobIdParamsSchema = Type.Object(
  { jobId: Type.String({ format: 'uuid', description: 'The id returned by POST /api/jobs' }) },
  { additionalProperties: false },
);

export const JobAcceptedSchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  status: Type.Literal('queued'),
  message: Type.String(),
});

/**
 * Page sizes of the list routes. The defaults keep an answer small; the caps
 * bound what one request costs Redis (a page reads one record per job) and,
 * for bulk replay, what one call must finish before a client's timeout (every
 * replay waits for a publisher confirm).
 */
export const PageLimits = {
  jobs: { default: 50, max: 500 },
  attempts: { default: 100, max: 500 },
  bulkReplay: { default: 100, max: 1000 },
} as const;

/** Filters shared by the job list, the dead-letter list and bulk replay. */
const filterProperties = {
  targetHost: Type.Optional(Type.String({ maxLength: 253, description: 'Host of targetUrl, exact match' })),
  createdAfter: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after (ISO 8601)' })),
  createdBefore: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or before (ISO 8601)' })),
};

/** `metadata.<key>=<value>` query parameters: any number, all must match. */
export const METADATA_QUERY_PATTERN = `^metadata\\.${MetadataLimits.keyPattern.slice(1)}`;

export const ListQuerySchema = Type.Object(
  {
    status: Type.Optional(
      Type.Array(JobStatusSchema, { maxItems: 6, description: 'One or several (repeat the parameter)' }),
    ),
    ...filterProperties,
    limit: Type.Integer({ minimum: 1, maximum: PageLimits.jobs.max, default: PageLimits.jobs.default }),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  {
    additionalProperties: false,
    patternProperties: { [METADATA_QUERY_PATTERN]: Type.String({ maxLength: MetadataLimits.maxValueLength }) },
  },
);

export const JobListSchema = Type.Object({
  jobs: Type.Array(JobSummarySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null at the end',
  }),
});

export const DeadLetterListSchema = Type.Object({
  deadLetters: Type.Array(JobSummarySchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const BulkReplayBodySchema = Type.Object(
  {
    ...filterProperties,
    metadata: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: MetadataLimits.maxKeys })),
    limit: Type.Integer({
      minimum: 1,
      maximum: PageLimits.bulkReplay.max,
      default: PageLimits.bulkReplay.default,
      description: 'Most dead letters replayed by this call',
    }),
  },
  { additionalProperties: false },
);

export const BulkReplayResultSchema = Type.Object({
  replayed: Type.Array(Type.String({ format: 'uuid' })),
  failed: Type.Array(Type.Object({ jobId: Type.String(), code: Type.String(), message: Type.String() })),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'More dead letters match; call again' }),
});

export const CancelResultSchema = Type.Object({
  jobId: Type.String({ format: 'uuid' }),
  status: Type.Enum(['cancelled', 'in_progress']),
  cancelRequested: Type.Optional(Type.Boolean()),
});

export const AttemptsQuerySchema = Type.Object(
  {
    offset: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: PageLimits.attempts.max, default: PageLimits.attempts.default }),
  },
  { additionalProperties: false },
);

export const AttemptsPageSchema = Type.Object({
  attempts: Type.Array(AttemptSchema),
  total: Type.Integer({ description: 'Attempts recorded in all, dropped ones included' }),
  dropped: Type.Integer({
    description:
      'The oldest attempts dropped to keep the log within ATTEMPT_LOG_MAX: offsets below this return nothing',
  }),
  nextOffset: Type.Union([Type.Integer(), Type.Null()]),
});

export const CountersSchema = Type.Object({
  jobs_created: Type.Integer(),
  jobs_processing: Type.Integer(),
  jobs_success: Type.Integer(),
  jobs_failed: Type.Integer(),
  jobs_retried: Type.Integer(),
  jobs_dlq: Type.Integer(),
  jobs_cancelled: Type.Integer(),
  callbacks_sent: Type.Integer(),
  callbacks_failed: Type.Integer(),
});

export { JobViewSchema, JobStatusSchema };

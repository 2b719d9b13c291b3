import { Type, type Static } from 'typebox';
import { JobPriority } from './status.js';

/**
 * Applications: the tenants of a relay. Each has one API key (shown once, kept
 * only as a SHA-256 hash), its own jobs, its own rate limit and its own
 * Standard Webhooks signing secrets.
 */

export const RateLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests allowed per window' }),
    windowMs: Type.Integer({ minimum: 1000, maximum: 86_400_000, description: 'Window length (ms)' }),
  },
  { additionalProperties: false, description: "The application's own limit on /api requests" },
);
export type RateLimit = Static<typeof RateLimitSchema>;

/** An application's own quotas (quotas.ts); null for one: the server default (QUOTA_* settings). */
export const QuotasSchema = Type.Object(
  {
    maxUnfinishedJobs: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), Type.Null()], {
      description: 'Most jobs queued, in progress or retrying at once; more get 429 RELAY_ERR_QUOTA_EXCEEDED',
    }),
    maxStoredBytes: Type.Union([Type.Integer({ minimum: 1024, maximum: 1_099_511_627_776 }), Type.Null()], {
      description:
        'Most bytes of job specs (plus a fixed allowance per job) created within one job lifetime; more get 429 RELAY_ERR_QUOTA_EXCEEDED',
    }),
    maxPriority: Type.Union([Type.Enum(Object.values(JobPriority)), Type.Null()], {
      description: 'Highest priority the application may submit; above it: 403 RELAY_ERR_PRIORITY_NOT_ALLOWED',
    }),
  },
  { additionalProperties: false },
);
export type Quotas = Static<typeof QuotasSchema>;

/** A change of quotas: only the fields given change; null returns one to the server default. */
export const QuotasPatchSchema = Type.Partial(QuotasSchema, { additionalProperties: false, minProperties: 1 });

export const SigningSecretInfoSchema = Type.Object({
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When a rotated-out secret stops signing (null: the current secret)',
  }),
});

export const ApplicationSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  rateLimit: Type.Union([RateLimitSchema, Type.Null()], {
    description: 'null: the server default (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS)',
  }),
  signTargetRequests: Type.Boolean({
    description: 'Target requests are signed like callbacks (webhook-id, webhook-timestamp, webhook-signature)',
  }),
  signingSecrets: Type.Array(SigningSecretInfoSchema, {
    description: 'Secrets that sign deliveries now, newest first (values are never shown again)',
  }),
  quotas: QuotasSchema,
});
export type Application = Static<typeof ApplicationSchema>;

export const ApplicationNameSchema = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[^\\u0000-\\u001f]+$',
  description: 'A label for people',
});

export const CreateApplicationSchema = Type.Object(
  {
    name: ApplicationNameSchema,
    rateLimit: Type.Optional(RateLimitSchema),
    signTargetRequests: Type.Boolean({ default: false }),
    quotas: Type.Optional(QuotasPatchSchema),
  },
  { additionalProperties: false },
);
export type CreateApplication = Static<typeof CreateApplicationSchema>;

export const UpdateApplicationSchema = Type.Object(
  {
    name: Type.Optional(ApplicationNameSchema),
    rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Null()])),
    signTargetRequests: Type.Optional(Type.Boolean()),
    quotas: Type.Optional(QuotasPatchSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateApplication = Static<typeof UpdateApplicationSchema>;

export const CreatedApplicationSchema = Type.Intersect([
  ApplicationSchema,
  Type.Object({
    apiKey: Type.String({ description: 'Shown only in this answer: relay keeps only its SHA-256 hash' }),
    signingSecret: Type.String({ description: 'Standard Webhooks secret (whsec_...), to verify signed deliveries' }),
    targetSigningSecret: Type.String({
      description: 'Secret (whsec_...) a target verifies signed target requests with; derived from signingSecret',
    }),
  }),
]);

export const RotateSigningSecretSchema = Type.Object(
  {
    graceSeconds: Type.Integer({
      minimum: 0,
      maximum: 30 * 86_400,
      default: 86_400,
      description: 'How long the previous secret keeps signing next to the new one',
    }),
  },
  { additionalProperties: false },
);

export const RotatedSigningSecretSchema = Type.Object({
  signingSecret: Type.String({ description: 'The new secret (whsec_...); shown only in this answer' }),
  targetSigningSecret: Type.String({ description: 'Its target-request secret (whsec_...), derived from it' }),
  signingSecrets: Type.Array(SigningSecretInfoSchema),
});

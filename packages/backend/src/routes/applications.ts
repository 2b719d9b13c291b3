import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  ApplicationSchema,
  ErrorBodySchema,
  CreateApplicationSchema,
  CreatedApplicationSchema,
  RelayError,
  RotatedSigningSecretSchema,
  RotateSigningSecretSchema,
  targetSigningSecret,
  UpdateApplicationSchema,
} from '@relay/common';

const ApplicationIdParamsSchema = Type.Object(
  {
    applicationId: Type.String({
      pattern: '^app_[A-Za-z0-9_-]{1,64}$',
      description: 'The id from POST /api/applications',
    }),
  },
  { additionalProperties: false },
);

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 503: ErrorBodySchema };
const withNotFound = { ...errors, 404: ErrorBodySchema };

function notFound(id: string): RelayError {
  return new RelayError('APPLICATION_NOT_FOUND', { message: `No application ${id}` });
}

/** Applications (tenants): managed with the master key only. */
const applicationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const store = app.applications;
  const master = { access: 'master' as const };
  const tags = ['applications'];

  app.post(
    '/api/applications',
    {
      config: master,
      schema: {
        tags,
        summary: 'Create an application; its API key and signing secret are shown only in this answer',
        body: CreateApplicationSchema,
        response: { 201: CreatedApplicationSchema, ...errors },
      },
    },
    async (request, reply) => {
      const created = await store.create(request.body);
      request.log.info({ applicationId: created.application.id }, 'application created');
      return reply
        .code(201)
        .header('location', `/api/applications/${created.application.id}`)
        .send({
          ...created.application,
          apiKey: created.apiKey,
          signingSecret: created.signingSecret,
          targetSigningSecret: targetSigningSecret(created.signingSecret),
        });
    },
  );

  app.get(
    '/api/applications',
    {
      config: master,
      schema: {
        tags,
        summary: 'List applications (revoked ones included), oldest first',
        response: { 200: Type.Object({ applications: Type.Array(ApplicationSchema) }), ...errors },
      },
    },
    async () => ({ applications: await store.list() }),
  );

  app.get(
    '/api/applications/:applicationId',
    {
      config: master,
      schema: {
        tags,
        summary: 'One application',
        params: ApplicationIdParamsSchema,
        response: { 200: ApplicationSchema, ...withNotFound },
      },
    },
    async (request) => {
      const found = await store.get(request.params.applicationId);
      if (!found) throw notFound(request.params.applicationId);
      return found;
    },
  );

  app.patch(
    '/api/applications/:applicationId',
    {
      config: master,
      schema: {
        tags,
        summary:
          "Change an application's name, rate limit, target signing or quotas (null: the server default); only the master key grants priority high",
        params: ApplicationIdParamsSchema,
        body: UpdateApplicationSchema,
        response: { 200: ApplicationSchema, ...withNotFound },
      },
    },
    async (request) => {
      const updated = await store.update(request.params.applicationId, request.body);
      if (!updated) throw notFound(request.params.applicationId);
      return updated;
    },
  );

  app.delete(
    '/api/applications/:applicationId',
    {
      config: master,
      schema: {
        tags,
        summary: "Revoke an application's key at once (its jobs run to the end and expire as usual)",
        params: ApplicationIdParamsSchema,
        response: { 200: ApplicationSchema, ...withNotFound },
      },
    },
    async (request) => {
      const revoked = await store.revoke(request.params.applicationId);
      if (!revoked) throw notFound(request.params.applicationId);
      request.log.info({ applicationId: revoked.id }, 'application revoked');
      return revoked;
    },
  );

  app.post(
    '/api/applications/:applicationId/signing-secret',
    {
      config: master,
      schema: {
        tags,
        summary:
          'Rotate the signing secret: the new one signs at once, the previous one keeps signing for the grace period',
        params: ApplicationIdParamsSchema,
        body: RotateSigningSecretSchema,
        response: { 200: RotatedSigningSecretSchema, ...withNotFound },
      },
    },
    async (request) => {
      const { graceSeconds } = request.body;
      const rotated = await store.rotateSigningSecret(request.params.applicationId, graceSeconds);
      if (!rotated) throw notFound(request.params.applicationId);
      request.log.info({ applicationId: request.params.applicationId, graceSeconds }, 'signing secret rotated');
      return {
        signingSecret: rotated.signingSecret,
        targetSigningSecret: targetSigningSecret(rotated.signingSecret),
        signingSecrets: rotated.application.signingSecrets,
      };
    },
  );
};

export default applicationRoutes;

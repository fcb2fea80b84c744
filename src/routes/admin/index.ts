import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { problemResponses } from '../common.schemas.js';
import {
  CreateKeyBodySchema,
  CreateOperatorBodySchema,
  CreatedKeySchema,
  ErasureBodySchema,
  ErasureOutcomeSchema,
  KeyParamsSchema,
  OperatorSchema,
} from './schemas.js';

/** Operators and API keys: admin only. */
export const adminRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  const admin = { roles: ['admin'] as const };

  app.get(
    '/v1/operators',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['admin'],
        operationId: 'listOperators',
        summary: 'The operators (telecom companies) simsift knows',
        response: { 200: Type.Object({ items: Type.Array(OperatorSchema) }), ...problemResponses },
      },
    },
    async () => ({ items: await container.auth.listOperators() }),
  );

  app.post(
    '/v1/operators',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'createOperator',
        summary: 'Register an operator (201), or answer the existing one with that code (200)',
        body: CreateOperatorBodySchema,
        response: { 201: OperatorSchema, 200: OperatorSchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { operator, created } = await container.auth.createOperator(
        request.body.code,
        request.body.name,
        `key:${principal.keyId}`,
        principal.keyId,
      );
      return reply.code(created ? 201 : 200).send(operator);
    },
  );

  app.post(
    '/v1/keys',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'createKey',
        summary: 'Create an API key for a role (operator and checker keys name their operator); the key is shown once',
        body: CreateKeyBodySchema,
        response: { 201: CreatedKeySchema, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const created = await container.auth.createKey({
        role: request.body.role,
        operatorCode: request.body.operator ?? null,
        label: request.body.label ?? null,
        actor: `key:${principal.keyId}`,
        actorKeyId: principal.keyId,
      });
      return reply.code(201).send(created);
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'revokeKey',
        summary: 'Revoke an API key',
        params: KeyParamsSchema,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await container.auth.revokeKey(request.params.id, `key:${principal.keyId}`, principal.keyId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/erasures',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'eraseSubscriber',
        summary: "Erase a subscriber's personal data (DPDP Act 2023)",
        description:
          'Deletes every KYC record with the number, or with the identity document, and the faces, block ' +
          'candidates, photos and thumbnails made from them; the audit log records the erasure with internal ids ' +
          'only.',
        body: ErasureBodySchema,
        response: { 200: ErasureOutcomeSchema, ...problemResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return container.erasure.erase(
        { msisdn: request.body.msisdn, idType: request.body.id_type, idNumber: request.body.id_number },
        { actor: `key:${principal.keyId}`, apiKeyId: principal.keyId },
      );
    },
  );
};

import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { notFound } from '../../services/errors.js';
import { Type } from 'typebox';
import type { PhotoMimeType } from '../../repositories/photo-store.repository.js';
import { problemResponses } from '../common.schemas.js';
import {
  AgentListSchema,
  AgentQuerySchema,
  BlockCandidateListSchema,
  BlockCandidateQuerySchema,
  ClusterDetailSchema,
  ClusterListQuerySchema,
  ClusterListSchema,
  DecisionSchema,
  IdParamsSchema,
} from './schemas.js';

const READERS = ['operator', 'analyst', 'admin'] as const;

export const clusterRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/clusters',
    {
      config: { roles: READERS },
      schema: {
        tags: ['clusters'],
        querystring: ClusterListQuerySchema,
        response: { 200: ClusterListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.list(principalOf(request), request.query),
  );

  app.get(
    '/v1/clusters/:id',
    {
      config: { roles: READERS, personalData: 'cluster.view' },
      schema: {
        tags: ['clusters'],
        params: IdParamsSchema,
        response: { 200: ClusterDetailSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.get(principalOf(request), request.params.id),
  );

  app.post(
    '/v1/clusters/:id/decisions',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['review'],
        summary: 'Decide on a flagged cluster: confirm, dismiss, keep up to the cap, split or merge',
        params: IdParamsSchema,
        body: DecisionSchema,
        response: {
          200: Type.Object({ status: Type.Literal('decided'), cluster: ClusterDetailSchema }),
          202: Type.Object({ status: Type.Literal('recomputing') }),
          ...problemResponses,
          409: { $ref: 'Problem' },
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const outcome = await container.review.decide(principal, request.params.id, request.body);
      if (outcome === 'recomputing') return reply.code(202).send({ status: 'recomputing' as const });
      return { status: 'decided' as const, cluster: await container.clusters.get(principal, request.params.id) };
    },
  );

  app.get(
    '/v1/block-candidates',
    {
      config: { roles: READERS, personalData: 'candidates.list' },
      schema: {
        tags: ['clusters'],
        querystring: BlockCandidateQuerySchema,
        response: { 200: BlockCandidateListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.listBlockCandidates(principalOf(request), request.query),
  );

  app.get(
    '/v1/agents',
    {
      config: { roles: READERS },
      schema: {
        tags: ['clusters'],
        querystring: AgentQuerySchema,
        response: { 200: AgentListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.agents(principalOf(request), request.query.limit),
  );

  app.get(
    '/v1/agents/:operator/:posAgentId/enrolments',
    {
      config: { roles: READERS, personalData: 'enrolments.list' },
      schema: {
        tags: ['clusters'],
        params: Type.Object(
          {
            operator: Type.String({ pattern: '^[A-Za-z0-9_]{2,32}$' }),
            posAgentId: Type.String({ minLength: 1, maxLength: 64 }),
          },
          { additionalProperties: false },
        ),
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                recordId: Type.Integer(),
                msisdn: Type.String(),
                name: Type.String(),
                clusterId: Type.Integer(),
                reasons: Type.Array(Type.String()),
                status: Type.String(),
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) =>
      container.clusters.agentEnrolments(
        principalOf(request),
        request.params.operator,
        request.params.posAgentId,
        request.query.limit,
      ),
  );

  app.get(
    '/v1/faces/:id/photo',
    {
      config: { roles: READERS, personalData: 'photo.view' },
      schema: {
        tags: ['clusters'],
        summary: 'The original KYC photo of a face (personal data: served only to those who may see the record)',
        params: IdParamsSchema,
        produces: ['image/jpeg', 'image/png', 'image/webp'],
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const { file, mimeType } = await container.clusters.photo(principalOf(request), request.params.id, (sha, type) =>
        container.photos.pathFor(sha, type as PhotoMimeType),
      );
      await access(file).catch(() => {
        throw notFound('photo');
      });
      return reply.type(mimeType).header('cache-control', 'private, no-store').send(createReadStream(file));
    },
  );

  app.get(
    '/v1/faces/:id/thumbnail',
    {
      config: { roles: READERS, personalData: 'thumbnail.view' },
      schema: {
        tags: ['clusters'],
        params: IdParamsSchema,
        produces: ['image/jpeg'],
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const file = await container.clusters.thumbnail(principalOf(request), request.params.id);
      await access(file).catch(() => {
        throw notFound('thumbnail');
      });
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(createReadStream(file));
    },
  );
};

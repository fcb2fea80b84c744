import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { notFound } from '../../services/errors.js';
import { problemResponses } from '../common.schemas.js';
import {
  AgentListSchema,
  AgentQuerySchema,
  BlockCandidateListSchema,
  BlockCandidateQuerySchema,
  ClusterDetailSchema,
  ClusterListQuerySchema,
  ClusterListSchema,
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
      config: { roles: READERS },
      schema: {
        tags: ['clusters'],
        params: IdParamsSchema,
        response: { 200: ClusterDetailSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.get(principalOf(request), request.params.id),
  );

  app.get(
    '/v1/block-candidates',
    {
      config: { roles: READERS },
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
    '/v1/faces/:id/thumbnail',
    {
      config: { roles: READERS },
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

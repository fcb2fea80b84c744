import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf, RECORD_READERS } from '../../plugins/auth.js';
import { IdParamsSchema, problemResponses } from '../common.schemas.js';
import { ClusterDetailSchema, ClusterListQuerySchema, ClusterListSchema } from './schemas.js';

/** Face clusters: the review queue's list and one cluster's detail (members, evidence, candidates). */
export const clusterRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/clusters',
    {
      config: { roles: RECORD_READERS },
      schema: {
        tags: ['clusters'],
        operationId: 'listClusters',
        summary: 'Face clusters, filtered and sorted: the review queue (paged)',
        querystring: ClusterListQuerySchema,
        response: { 200: ClusterListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.list(principalOf(request), request.query),
  );

  app.get(
    '/v1/clusters/:id',
    {
      config: { roles: RECORD_READERS, personalData: 'cluster.view' },
      schema: {
        tags: ['clusters'],
        operationId: 'getCluster',
        summary: "One cluster's detail: members, evidence and block candidates",
        params: IdParamsSchema,
        response: { 200: ClusterDetailSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.get(principalOf(request), request.params.id),
  );
};

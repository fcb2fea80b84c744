import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf, RECORD_READERS } from '../../plugins/auth.js';
import { problemResponses } from '../common.schemas.js';
import { BlockCandidateListSchema, BlockCandidateQuerySchema } from './schemas.js';

/** Block candidates: the numbers the rules flagged, across clusters, by status. */
export const blockCandidateRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/block-candidates',
    {
      config: { roles: RECORD_READERS, personalData: 'candidates.list' },
      schema: {
        tags: ['clusters'],
        operationId: 'listBlockCandidates',
        summary: 'Block candidates: the numbers the rules flagged, across clusters, by status (paged)',
        querystring: BlockCandidateQuerySchema,
        response: { 200: BlockCandidateListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.listBlockCandidates(principalOf(request), request.query),
  );
};

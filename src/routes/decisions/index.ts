import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { ClusterDetailSchema } from '../clusters/schemas.js';
import { IdParamsSchema, problemResponses } from '../common.schemas.js';
import { DecisionSchema } from './schemas.js';

/** Review decisions: an analyst confirms, dismisses, keeps, splits or merges a flagged cluster. */
export const decisionRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.post(
    '/v1/clusters/:id/decisions',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['review'],
        operationId: 'decideCluster',
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
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { principalOf, RECORD_READERS } from '../../plugins/auth.js';
import { problemResponses } from '../common.schemas.js';
import { AgentListSchema, AgentQuerySchema } from './schemas.js';

/** Point-of-sale agents ranked by the share of their enrolments in flagged clusters, and one agent's enrolments. */
export const agentRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/agents',
    {
      config: { roles: RECORD_READERS },
      schema: {
        tags: ['clusters'],
        operationId: 'listAgents',
        summary: 'Point-of-sale agents ranked by the share of their enrolments in flagged clusters',
        querystring: AgentQuerySchema,
        response: { 200: AgentListSchema, ...problemResponses },
      },
    },
    async (request) => container.clusters.agents(principalOf(request), request.query.limit),
  );

  app.get(
    '/v1/agents/:operator/:posAgentId/enrolments',
    {
      config: { roles: RECORD_READERS, personalData: 'enrolments.list' },
      schema: {
        tags: ['clusters'],
        operationId: 'listAgentEnrolments',
        summary: "One point-of-sale agent's enrolments in flagged clusters",
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
};

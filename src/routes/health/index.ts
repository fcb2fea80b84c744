import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Container } from '../../container.js';

const ReadySchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  checks: Type.Object({ postgres: Type.String(), redis: Type.String() }),
});

export const healthRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['service'],
        operationId: 'getHealth',
        summary: 'Liveness: the process answers (touches neither Postgres nor Redis)',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['service'],
        operationId: 'getReadiness',
        summary: 'Readiness: Postgres and Redis are reachable (503 names the one that is not)',
        response: { 200: ReadySchema, 503: ReadySchema },
      },
    },
    async (_request, reply) => {
      const [postgres, redis] = await Promise.all([
        container.pool.query('SELECT 1').then(
          () => 'ok',
          () => 'unreachable',
        ),
        container.facesQueue.ping().then(
          () => 'ok',
          () => 'unreachable',
        ),
      ]);
      const ready = postgres === 'ok' && redis === 'ok';
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks: { postgres, redis } });
    },
  );
};

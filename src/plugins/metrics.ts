import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from '../metrics/api.metrics.js';

/**
 * Records every request's count and latency per route into the API's metrics (src/metrics/api.metrics.ts), and
 * serves them on `GET /metrics` when `expose` is set.
 */
export function registerMetrics(
  app: FastifyInstance,
  metrics: ApiMetrics,
  { expose }: { expose: boolean } = { expose: true },
): void {
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids in paths would explode label cardinality.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestFinished(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  // Off the public port unless configured (config.exposeMetrics): the numbers describe the service to anyone.
  if (!expose) return;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

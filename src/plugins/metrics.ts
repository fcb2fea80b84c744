import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { QueueCounts } from '../repositories/job-queue.repository.js';

export interface QueueCountSource {
  readonly queueName: string;
  counts(): Promise<QueueCounts>;
}

/**
 * Prometheus metrics on `/metrics`: request counts and latencies per route, and every queue's depth read
 * from Redis at scrape time. A registry per app so several apps in one process (tests) do not collide.
 */
export function registerMetrics(
  app: FastifyInstance,
  queues: readonly QueueCountSource[],
  { expose }: { expose: boolean } = { expose: true },
): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'simsift_' });
  const requests = new Counter({
    name: 'simsift_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'simsift_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  new Gauge({
    name: 'simsift_queue_jobs',
    help: 'Jobs per queue and state (-1 when Redis is unreachable)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const queue of queues) {
        const counts: Partial<QueueCounts> = await queue.counts().catch(() => ({}));
        for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed'] as const) {
          this.set({ queue: queue.queueName, state }, counts[state] ?? -1);
        }
      }
    },
  });

  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    // The route pattern, not the URL: ids in paths would explode label cardinality.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  // Off the public port unless configured (config.exposeMetrics): the numbers describe the service to anyone.
  if (!expose) return;
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}

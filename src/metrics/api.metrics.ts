import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AuthFailureCode, AuthMetrics } from '../plugins/auth.js';
import type { QueueCounts } from '../repositories/job-queue.repository.js';
import { createMetricsRegistry } from './metrics-registry.js';

export interface QueueCountSource {
  readonly queueName: string;
  counts(): Promise<QueueCounts>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;
// Two gauges read the same counts in one scrape; a second scrape within this long reuses them too.
const COUNTS_REUSE_MS = 1_000;

/**
 * The API process's Prometheus metrics: requests per route, failed authentications, and each queue's depth
 * read from Redis at scrape time. The Fastify side (hooks, the /metrics route) is plugins/metrics.ts.
 */
export class ApiMetrics implements AuthMetrics {
  readonly registry: Registry = createMetricsRegistry();

  private readonly requests = new Counter({
    name: 'simsift_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly duration = new Histogram({
    name: 'simsift_http_request_duration_seconds',
    help: 'HTTP request duration by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly authFailures = new Counter({
    name: 'simsift_auth_failures_total',
    help: 'Requests refused for their credentials, by error code (no or unknown key, blocked address, expired session, CSRF, wrong role)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(queues: readonly QueueCountSource[]) {
    let latest: { at: number; counts: Promise<(QueueCounts | null)[]> } | null = null;
    // Both gauges collect in the same scrape (prom-client collects every metric at once): one read serves both.
    const read = () => {
      if (!latest || performance.now() - latest.at > COUNTS_REUSE_MS) {
        latest = {
          at: performance.now(),
          counts: Promise.all(queues.map((queue) => queue.counts().catch(() => null))),
        };
      }
      return latest.counts;
    };
    new Gauge({
      name: 'simsift_queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time; absent while Redis cannot be read (see simsift_queue_up)',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await read();
        // No number is honest when Redis cannot be read: the series go absent instead of reporting a fake depth.
        this.reset();
        queues.forEach((queue, i) => {
          const queueCounts = counts[i];
          if (!queueCounts) return;
          for (const state of QUEUE_STATES) this.set({ queue: queue.queueName, state }, queueCounts[state]);
        });
      },
    });
    new Gauge({
      name: 'simsift_queue_up',
      help: 'Whether the queue could be read from Redis at this scrape (1) or not (0)',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await read();
        queues.forEach((queue, i) => this.set({ queue: queue.queueName }, counts[i] ? 1 : 0));
      },
    });
  }

  requestFinished(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.duration.observe({ method, route }, seconds);
  }

  authFailed(reason: AuthFailureCode): void {
    this.authFailures.inc({ reason });
  }
}

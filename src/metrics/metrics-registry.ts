import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A registry of one process's metrics, with Node's default metrics (`process_*`, `nodejs_*`) under their standard
 * names, unprefixed, so stock Node.js dashboards and alerts work on them. Which process a series comes from (the
 * API, a face worker, the cluster worker) is the scrape's `job` and `instance`, not a prefix. One registry per
 * API app or worker process: several in one process (tests) do not collide.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiMetrics } from '../../src/metrics/api.metrics.js';
import { WorkerMetrics } from '../../src/metrics/worker.metrics.js';
import { PROJECT_ROOT } from '../../src/paths.js';

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
}

describe('docs/grafana-dashboard.json', () => {
  it('is an importable dashboard whose every query names a metric simsift or Node exports', async () => {
    const dashboard = JSON.parse(await readFile(path.join(PROJECT_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
      __inputs: { name: string; pluginId: string }[];
      panels: Panel[];
    };
    expect(dashboard.__inputs).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }),
    );

    const exported = new Set<string>();
    for (const registry of [new WorkerMetrics().registry, new ApiMetrics([]).registry]) {
      for (const metric of await registry.getMetricsAsJSON()) {
        for (const suffix of ['', '_bucket', '_count', '_sum']) exported.add(metric.name + suffix);
      }
    }
    const queries = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(queries.length).toBeGreaterThan(10);
    const used = new Set<string>();
    for (const panel of queries) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      for (const target of panel.targets ?? []) {
        for (const [name] of target.expr.matchAll(/\b(?:simsift|process|nodejs)_[a-z0-9_]+/g)) used.add(name);
      }
    }
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    for (const wanted of [
      'simsift_photos_processed_total',
      'simsift_face_stage_duration_seconds_bucket',
      'simsift_queue_wait_seconds_bucket',
      'simsift_check_duration_seconds_bucket',
      'simsift_cluster_index_faces',
      'simsift_cluster_index_rebuild_seconds',
      'simsift_auth_failures_total',
      'simsift_queue_jobs',
      'simsift_queue_up',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(used).toContain(wanted);
    }
  });
});

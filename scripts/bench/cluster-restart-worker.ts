/**
 * Child process of the cluster bench: a cluster worker's start from the saved index, in a fresh process as a
 * restarted worker's would be: `ClusterService.rebuild` with the saved files and a Postgres holding the bench's
 * faces (ids and clusters; the descriptors come from the saved gallery): the files load (checksums, usearch
 * load) while Postgres's ids and clusters are read, the gallery is checked against them and adopted.
 *
 * Messages: in a {@link RestartTask}; out its {@link RestartMeasurement}.
 */
import path from 'node:path';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { createPool } from '../../src/repositories/database.js';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { UsearchIndex, type UsearchIndexOptions } from '../../src/repositories/usearch-index.repository.js';
import { ClusterService, type RebuildTimings } from '../../src/services/clustering/cluster.service.js';
import type { ClusterRules } from '../../src/services/clustering/face-clusterer.js';
import { DEFAULT_IDENTITY_POLICY } from '../../src/services/rules/identity-graph.js';
import { faceEvidenceOf } from './lib/cluster-setup.js';

export interface RestartTask {
  /** The bench's private database, holding every saved face and its cluster (see lib/stored-faces.ts). */
  databaseUrl: string;
  embedder: string;
  /** The saved index, its gallery and sidecar beside it. */
  indexFile: string;
  total: number;
  dimensions: number;
  indexOptions: UsearchIndexOptions;
  rules: ClusterRules;
}

export interface RestartMeasurement {
  /** Loading and checking the saved files (Postgres is read meanwhile). */
  loadSeconds: number;
  /** The rest of the start: reconciling the gallery with Postgres's ids and clusters, and adopting it. */
  restoreSeconds: number;
  cpuSeconds: number;
  rss: number;
  /** Where the start's time went (ClusterService.rebuild's own account). */
  timings: RebuildTimings;
}

process.once('message', (task: RestartTask) => {
  void measureRestart(task).then(
    (figures) => process.send!(figures, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`restart failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});

async function measureRestart(task: RestartTask): Promise<RestartMeasurement> {
  const pool = createPool(task.databaseUrl, 3);
  try {
    const createIndex = () => new UsearchIndex('euclidean', task.dimensions, task.indexOptions);
    const file = new UsearchIndexFile(path.resolve(task.indexFile), createIndex);
    let loadSeconds = 0;
    const timedFile = {
      load: async () => {
        const started = performance.now();
        const loaded = await file.load();
        loadSeconds = (performance.now() - started) / 1000;
        return loaded;
      },
      save: file.save.bind(file),
    };
    const service = new ClusterService(
      new ClusterRepository(pool),
      task.embedder,
      task.rules,
      createIndex,
      { ...DEFAULT_IDENTITY_POLICY, calibration: await faceEvidenceOf(task.embedder) },
      timedFile,
    );
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    const rebuilt = await service.rebuild();
    const seconds = (performance.now() - started) / 1000;
    const usage = process.cpuUsage(cpuStart);
    if (
      rebuilt.faces !== task.total ||
      !rebuilt.savedIndex.startsWith(`loaded (${task.total} faces), descriptors from its gallery`)
    ) {
      throw new Error(`the restart did not take the saved files: ${JSON.stringify(rebuilt)}`);
    }
    return {
      loadSeconds,
      restoreSeconds: seconds - loadSeconds,
      cpuSeconds: (usage.user + usage.system) / 1e6,
      rss: process.memoryUsage().rss,
      timings: rebuilt.timings,
    };
  } finally {
    await pool.end();
  }
}

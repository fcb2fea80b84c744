import type { Config } from '../config.js';
import { createClusterService } from '../../workers/cluster-worker-runtime.js';
import { withClusterWriterLock } from '../repositories/cluster-writer-lock.repository.js';
import { createPool, migrateDatabase } from '../repositories/database.js';

/**
 * `simsift recluster`: clusters every stored face again in one batch, under every analyst constraint, and
 * reports how far that agrees with the live (incremental) clusters. With `apply`, the batch result replaces
 * the live clusters (as the one cluster writer: a running cluster worker waits, then reloads).
 */
export interface ReclusterReport {
  faces: number;
  incrementalClusters: number;
  reclusterClusters: number;
  /** Pairwise agreement of the batch result with the live clusters, 0..1. */
  agreement: number;
  /** With `apply`: what replacing the live clusters changed. */
  applied?: { faces: number; clustersBefore: number; clustersAfter: number; movedFaces: number };
}

export async function runRecluster(config: Config, options: { apply: boolean }): Promise<ReclusterReport> {
  await migrateDatabase(config);
  const pool = createPool(config.databaseUrl, 2);
  try {
    const service = await createClusterService(config, pool);
    const comparison = await service.compareWithRecluster();
    if (!options.apply) return comparison;
    const applied = await withClusterWriterLock(pool, () => service.applyRecluster());
    return { ...comparison, applied };
  } finally {
    await pool.end();
  }
}

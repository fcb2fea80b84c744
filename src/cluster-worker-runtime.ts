import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { QueueName, type ClusterFacePayload } from './jobs/job-registry.js';
import { ClusterRepository } from './repositories/cluster.repository.js';
import { createPool, migrate, type Pool } from './repositories/database.js';
import { readModelManifest } from './repositories/face-engine/model-manifest.js';
import { ClusterService } from './services/clustering/cluster.service.js';
import { UsearchIndex } from './repositories/usearch-index.repository.js';

// Held while clustering: two cluster workers (on two machines) never write at once.
const CLUSTER_WRITER_LOCK = 0x5157_0002;

export class ClusterWriterBusyError extends Error {}

/**
 * The cluster worker: one BullMQ consumer with concurrency 1 that, for each job, takes a Postgres advisory
 * lock and clusters every face not yet in a cluster. A job that finds the lock taken is retried, so no face is
 * left waiting for a writer that already finished.
 */
/** The cluster service as the worker configures it: embedder thresholds from the manifest, HNSW index. */
export async function createClusterService(config: Config, pool: Pool): Promise<ClusterService> {
  const manifest = await readModelManifest();
  const embedder = manifest.models.find((model) => model.name === config.faces.embedder)!;
  const pairThreshold = embedder.samePersonThreshold!;
  const metric = embedder.metric!;
  return new ClusterService(
    new ClusterRepository(pool),
    config.faces.embedder,
    {
      metric,
      pairThreshold,
      averageThreshold: pairThreshold * config.clustering.averageThresholdFactor,
      minSupport: config.clustering.minSupport,
      neighbours: config.clustering.neighbours,
    },
    () => new UsearchIndex(metric, embedder.descriptorLength!),
  );
}

export async function runClusterWorker(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  await migrate(config.databaseUrl);
  const pool = createPool(config.databaseUrl, 3);
  const service = await createClusterService(config, pool);
  const rebuilt = await service.rebuild();
  logger.info(rebuilt, 'cluster index rebuilt from Postgres');

  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const worker = new Worker<ClusterFacePayload>(
    QueueName.Cluster,
    async () => {
      const client = await pool.connect();
      try {
        const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
          CLUSTER_WRITER_LOCK,
        ]);
        if (!locked.rows[0]?.ok) throw new ClusterWriterBusyError('another cluster writer is running');
        try {
          const result = await service.clusterPending();
          if (result.faces > 0) logger.info(result, 'faces clustered');
          return result;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1::bigint)', [CLUSTER_WRITER_LOCK]);
        }
      } finally {
        client.release();
      }
    },
    { connection, prefix: config.queuePrefix, concurrency: 1 },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'cluster worker error'));
  await worker.waitUntilReady();
  return {
    async close() {
      await worker.close();
      await pool.end();
      connection.disconnect();
    },
  };
}

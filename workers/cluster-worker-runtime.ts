import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { applyConstraintsHandler } from '../src/jobs/apply-constraints.handler.js';
import { checkFaceHandler } from '../src/jobs/check-face.handler.js';
import { clusterFaceHandler } from '../src/jobs/cluster-face.handler.js';
import { JobName, QueueName, clusterSweepJob, type CheckFacePayload } from '../src/jobs/job-registry.js';
import { NO_QUEUE_WORKER_METRICS, startQueueWorker, type QueueWorkerMetrics } from '../src/jobs/queue-worker.js';
import { JobQueueRepository } from '../src/repositories/job-queue.repository.js';
import { repeat } from '../src/repeat.js';
import { ClusterRepository } from '../src/repositories/cluster.repository.js';
import { createPool, migrateDatabase, type Pool } from '../src/repositories/database.js';
import { withClusterWriterLock } from '../src/repositories/cluster-writer-lock.repository.js';
import { readModelManifest } from '../src/repositories/face-engine/model-manifest.js';
import {
  ClusterService,
  NO_CLUSTER_INDEX_METRICS,
  type ClusterIndexMetrics,
} from '../src/services/clustering/cluster.service.js';
import { UsearchIndex, type GraphSettings } from '../src/repositories/usearch-index.repository.js';
import { UsearchIndexFile } from '../src/repositories/usearch-index-file.repository.js';
import path from 'node:path';
import { FaceEngine } from '../src/repositories/face-engine/face-engine.repository.js';
import { ImageRepository } from '../src/repositories/image.repository.js';
import {
  CheckEvaluatorService,
  NO_CHECK_METRICS,
  type CheckMetrics,
} from '../src/services/checks/check-evaluator.service.js';
import { PhotoAnalyser } from '../src/services/face-pipeline.service.js';
import { DEFAULT_IDENTITY_POLICY } from '../src/services/rules/identity-graph.js';
import { searchBreadthWarning } from '../src/services/clustering/search-breadth.js';

/** What the cluster worker records: its index, checks and jobs (src/metrics/worker.metrics.ts). */
export type ClusterWorkerMetrics = ClusterIndexMetrics & CheckMetrics & QueueWorkerMetrics;
const NO_CLUSTER_WORKER_METRICS: ClusterWorkerMetrics = {
  ...NO_CLUSTER_INDEX_METRICS,
  ...NO_CHECK_METRICS,
  ...NO_QUEUE_WORKER_METRICS,
};

/** The cluster service as the worker configures it: embedder thresholds from the manifest, HNSW index. */
export async function createClusterService(
  config: Config,
  pool: Pool,
  metrics: ClusterIndexMetrics = NO_CLUSTER_INDEX_METRICS,
): Promise<ClusterService> {
  const manifest = await readModelManifest();
  const embedder = manifest.models.find((model) => model.name === config.faces.embedder)!;
  const pairThreshold = embedder.samePersonThreshold!;
  const metric = embedder.metric!;
  if (!embedder.faceEvidence) throw new Error(`models/manifest.json has no faceEvidence for ${embedder.name}`);
  // The search breadth is not part of a saved index's shape: a file saved with another one still loads. A saved
  // file's graph settings are kept (UsearchIndexFile.load); a full rebuild uses the defaults.
  const createIndex = (graph?: GraphSettings) =>
    new UsearchIndex(metric, embedder.descriptorLength!, {
      expansionSearch: config.clustering.searchBreadth,
      ...graph,
    });
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
    createIndex,
    { ...DEFAULT_IDENTITY_POLICY, calibration: embedder.faceEvidence },
    // Saved by the cluster worker so its next start loads the graph instead of inserting every face again.
    new UsearchIndexFile(path.join(config.dataDir, 'index', `${config.faces.embedder}.usearch`), createIndex),
    metrics,
  );
}

/**
 * The cluster worker: one BullMQ consumer with concurrency 1 that, for each job, takes a Postgres advisory
 * lock and clusters every face not yet in a cluster. A job that finds the lock taken is retried, so no face is
 * left waiting for a writer that already finished.
 */
export async function runClusterWorker(
  config: Config,
  logger: Logger,
  metrics: ClusterWorkerMetrics = NO_CLUSTER_WORKER_METRICS,
): Promise<{ close(): Promise<void> }> {
  await migrateDatabase(config);
  const pool = createPool(config.databaseUrl, 3);
  const service = await createClusterService(config, pool, metrics);
  const rebuilt = await service.rebuild();
  logger.info(rebuilt, 'cluster index rebuilt from Postgres');
  const breadthWarning = searchBreadthWarning(rebuilt.faces, config.clustering.searchBreadth);
  if (breadthWarning) {
    logger.warn({ faces: rebuilt.faces, searchBreadth: config.clustering.searchBreadth }, breadthWarning);
  }

  // Every cluster job wakes the one writer, which clusters all pending faces and applies all new constraints.
  const clusterPending = () =>
    withClusterWriterLock(pool, async () => {
      const result = await service.clusterPending();
      if (result.faces > 0) logger.info(result, 'faces clustered');
      return result;
    });
  const clusterWorker = await startQueueWorker(
    QueueName.Cluster,
    {
      [JobName.ClusterFace]: clusterFaceHandler(clusterPending),
      [JobName.ApplyConstraints]: applyConstraintsHandler(clusterPending),
    },
    { redisUrl: config.redisUrl, prefix: config.queuePrefix, logger, concurrency: 1, metrics },
  );
  // Faces and analysts' decisions whose jobs were lost (a Redis wipe, a database restore) are picked up by a
  // sweep job now and then: the worker clusters every pending face and applies every new constraint on any job.
  const sweeps = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Cluster);
  const sweeper = repeat(config.clusterSweepMs, async () => {
    try {
      await sweeps.add([clusterSweepJob(String(Math.floor(Date.now() / config.clusterSweepMs)))]);
    } catch (error) {
      logger.warn({ err: error }, 'could not queue a cluster sweep; will retry');
    }
  });
  const checks = await runCheckConsumer(config, logger, pool, service, metrics);
  return {
    async close() {
      sweeper.stop();
      await sweeps.close();
      await checks.close();
      await clusterWorker.close();
      // After the last job: the saved index then holds every face clustered, and the next start adds none.
      const saved = await service.saveIndex();
      if (saved) logger.info(saved, 'cluster index saved');
      await pool.end();
    },
  };
}

/**
 * Pre-activation checks are answered here because this process holds the cluster index: one face is embedded
 * (the models load at start, or on the first check) and matched read-only against the live clusters.
 */
async function runCheckConsumer(
  config: Config,
  logger: Logger,
  pool: Pool,
  clusters: ClusterService,
  metrics: CheckMetrics & QueueWorkerMetrics,
): Promise<{ close(): Promise<void> }> {
  let engine: Promise<FaceEngine> | null = null;
  const loadEngine = () => {
    engine ??= FaceEngine.create({
      embedder: config.faces.embedder,
      allowCpuBackend: config.faces.allowCpuBackend,
    }).then(async (created) => {
      await created.warmUp();
      logger.info({ backend: created.backend, embedder: created.embedder }, 'check models loaded');
      return created;
    });
    return engine;
  };
  if (config.checks.preloadModels)
    void loadEngine().catch((error) => logger.error({ err: error }, 'check models failed'));
  const images = new ImageRepository(config.dataDir, config.upload.maxPhotoPixels);
  const repository = new ClusterRepository(pool);
  const evaluate = async (payload: CheckFacePayload) => {
    const evaluator = new CheckEvaluatorService({
      analyser: new PhotoAnalyser({ images, models: await loadEngine(), thresholds: config.faces }),
      matcher: clusters,
      store: repository,
      metrics,
    });
    return evaluator.evaluate(payload);
  };
  return startQueueWorker(
    QueueName.Checks,
    { [JobName.CheckFace]: checkFaceHandler(evaluate) },
    { redisUrl: config.redisUrl, prefix: config.queuePrefix, logger, concurrency: 1, metrics },
  );
}

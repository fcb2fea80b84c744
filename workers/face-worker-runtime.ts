import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { embedRecordHandler } from '../src/jobs/embed-record.handler.js';
import { JobName, QueueName, clusterFaceJob } from '../src/jobs/job-registry.js';
import { NO_QUEUE_WORKER_METRICS, startQueueWorker, type QueueWorkerMetrics } from '../src/jobs/queue-worker.js';
import { createPool, migrateDatabase } from '../src/repositories/database.js';
import { FaceEngine } from '../src/repositories/face-engine/face-engine.repository.js';
import { FaceRepository } from '../src/repositories/face.repository.js';
import { ImageRepository } from '../src/repositories/image.repository.js';
import { JobQueueRepository } from '../src/repositories/job-queue.repository.js';
import { PhotoStoreRepository } from '../src/repositories/photo-store.repository.js';
import {
  FacePipelineService,
  NO_PIPELINE_METRICS,
  type PipelineMetrics,
} from '../src/services/face-pipeline.service.js';

/** What a face worker records: each photo's outcome and stage timings, and its jobs (src/metrics/worker.metrics.ts). */
export type FaceWorkerMetrics = PipelineMetrics & QueueWorkerMetrics;
const NO_FACE_WORKER_METRICS: FaceWorkerMetrics = { ...NO_PIPELINE_METRICS, ...NO_QUEUE_WORKER_METRICS };

export interface FaceWorkerRuntime {
  service: FacePipelineService;
  engine: FaceEngine;
  close(): Promise<void>;
}

/** Builds the face pipeline of one worker process: models, repositories, the cluster queue producer. */
export async function createFacePipeline(
  config: Config,
  metrics: PipelineMetrics = NO_PIPELINE_METRICS,
): Promise<FaceWorkerRuntime> {
  const engine = await FaceEngine.create({
    embedder: config.faces.embedder,
    allowCpuBackend: config.faces.allowCpuBackend,
  });
  const pool = createPool(config.databaseUrl, 3);
  const clusterQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Cluster);
  const service = new FacePipelineService({
    store: new FaceRepository(pool),
    photos: new PhotoStoreRepository(config.dataDir, config.upload),
    images: new ImageRepository(config.dataDir, config.upload.maxPhotoPixels),
    models: engine,
    clusterQueue: { enqueueFaces: (faceIds) => clusterQueue.add(faceIds.map(clusterFaceJob)) },
    thresholds: config.faces,
    metrics,
  });
  return {
    service,
    engine,
    async close() {
      await clusterQueue.close();
      await pool.end();
    },
  };
}

/**
 * One face worker process: one model instance, job concurrency 1 (the models are CPU-bound and wasm threads
 * do not engage in Node, so parallelism comes from processes). SIGTERM finishes the current job, then exits.
 */
export async function runFaceWorker(
  config: Config,
  logger: Logger,
  metrics: FaceWorkerMetrics = NO_FACE_WORKER_METRICS,
): Promise<{ close(): Promise<void> }> {
  await migrateDatabase(config);
  const runtime = await createFacePipeline(config, metrics);
  await runtime.engine.warmUp();
  logger.info(
    {
      backend: runtime.engine.backend,
      simd: runtime.engine.simd,
      embedder: runtime.engine.embedder,
      nets: runtime.engine.netRuntimes,
    },
    'face models loaded',
  );
  for (const [net, placed] of Object.entries(runtime.engine.netRuntimes)) {
    // Correct but slower (the descriptor by about 40 ms a photo, BlazeFace by about 20): worth an operator's look.
    if (placed?.runtime === 'tensorflow')
      logger.warn({ net, reason: placed.reason }, 'a face net runs on tfjs, not onnxruntime');
  }
  const faces = await startQueueWorker(
    QueueName.Faces,
    { [JobName.EmbedRecord]: embedRecordHandler(runtime.service, logger) },
    {
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      logger,
      concurrency: 1,
      metrics,
      settings: {
        lockDuration: config.faces.jobLockMs,
        stalledInterval: Math.max(1_000, Math.floor(config.faces.jobLockMs / 2)),
        maxStalledCount: 3,
      },
    },
  );
  faces.worker.on('failed', (job, error) =>
    logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: error }, 'face job failed'),
  );
  logger.info({ pid: process.pid }, 'face worker ready');
  return {
    async close() {
      await faces.close();
      await runtime.close();
    },
  };
}

import type { Config } from './config.js';
import { ApiKeyRepository } from './repositories/api-key.repository.js';
import { AuditRepository } from './repositories/audit.repository.js';
import { BatchRepository } from './repositories/batch.repository.js';
import { createPool, type Pool } from './repositories/database.js';
import { ChangeFeedRepository } from './repositories/change-feed.repository.js';
import { OperatorRepository } from './repositories/operator.repository.js';
import { SessionRepository } from './repositories/session.repository.js';
import { PhotoStoreRepository } from './repositories/photo-store.repository.js';
import { JobQueueRepository } from './repositories/job-queue.repository.js';
import { QueueDashboardRepository } from './repositories/queue-dashboard.repository.js';
import {
  QueueName,
  applyConstraintsJob,
  checkFaceJob,
  clusterSweepJob,
  embedRecordJob,
  embedRecordJobId,
} from './jobs/job-registry.js';
import { AccessLogRepository } from './repositories/access-log.repository.js';
import { ErasureRepository } from './repositories/erasure.repository.js';
import { ErasureService } from './services/erasure.service.js';
import { readModelManifest } from './repositories/face-engine/model-manifest.js';
import { ReviewRepository } from './repositories/review.repository.js';
import { ReviewService } from './services/review.service.js';
import { ExportRepository } from './repositories/export.repository.js';
import { ExportService } from './services/export.service.js';
import { AuditChainService } from './services/audit-chain.service.js';
import { AUTH_FAILURE_WINDOW_MS, AuthService } from './services/auth.service.js';
import { BatchService } from './services/batch.service.js';
import { ClusterQueryService, type FaceRules } from './services/cluster-query.service.js';
import { CheckService } from './services/checks/check.service.js';
import type { CheckResult } from './services/checks/check-evaluator.service.js';
import { ClusterReadRepository } from './repositories/cluster-read.repository.js';
import { FileStore } from './repositories/file-store.repository.js';
import { IngestService, type IngestLogger } from './services/ingest.service.js';
import { PhotoSweepService } from './services/photo-sweep.service.js';
import { WindowCounterRepository } from './repositories/window-counter.repository.js';

/** The composition root: builds every repository and service once, and closes them in order. */
export interface Container {
  config: Config;
  pool: Pool;
  photos: PhotoStoreRepository;
  facesQueue: JobQueueRepository;
  clusterQueue: JobQueueRepository;
  checksQueue: JobQueueRepository;
  /** The queues the admin dashboard shows (connects only once the API mounts it). */
  queueDashboard: QueueDashboardRepository;
  auth: AuthService;
  auditChain: AuditChainService;
  batches: BatchService;
  clusters: ClusterQueryService;
  review: ReviewService;
  exports: ExportService;
  ingest: IngestService;
  erasure: ErasureService;
  /** Reads of personal data (plugins/access-log.ts). */
  accessLog: AccessLogRepository;
  checks: CheckService;
  photoSweep: PhotoSweepService;
  /** With `readCache` on, starts the change feed and so the caching (resolves even if Postgres is down). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createContainer(config: Config, logger: IngestLogger): Container {
  const pool = createPool(config.databaseUrl);
  // Hot reads (API keys, batch status) are cached behind a Postgres change feed, but only once start() has it
  // listening: long-lived API processes call it; CLI commands and workers, which read each thing once, do not.
  const changes = config.readCache ? new ChangeFeedRepository(config.databaseUrl, logger) : null;
  const photos = new PhotoStoreRepository(config.dataDir, config.upload);
  const facesQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Faces);
  const clusterQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Cluster);
  const checksQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Checks);
  // Not the checks queue: its jobs carry a subscriber's photo and details, which no dashboard should display.
  const queueDashboard = new QueueDashboardRepository(config.redisUrl, config.queuePrefix, [
    QueueName.Faces,
    QueueName.Cluster,
  ]);
  const batchRepository = new BatchRepository(pool, changes);
  const operators = new OperatorRepository(pool);
  const audit = new AuditRepository(pool);
  const authFailures = new WindowCounterRepository(
    config.redisUrl,
    config.queuePrefix,
    'auth-failures',
    AUTH_FAILURE_WINDOW_MS,
  );
  const checksPerKey = new WindowCounterRepository(config.redisUrl, config.queuePrefix, 'checks', 60_000);
  const authService = new AuthService({
    keys: new ApiKeyRepository(pool, changes),
    operators,
    audit,
    sessions: new SessionRepository(pool),
    failures: authFailures,
  });
  const clusterReadModel = new ClusterReadRepository(pool);
  const reviewRepository = new ReviewRepository(pool);
  let rules: Promise<FaceRules> | null = null;
  // The embedder's threshold, read once from models/manifest.json (what the cluster worker clusters with).
  const faceRules = () =>
    (rules ??= readModelManifest().then((manifest) => {
      const model = manifest.models.find((m) => m.name === config.faces.embedder)!;
      return { metric: model.metric!, pairThreshold: model.samePersonThreshold! };
    }));
  const ingest = new IngestService({
    batches: batchRepository,
    photos,
    queue: {
      enqueueRecords: (records) => facesQueue.add(records.map(embedRecordJob)),
      liveRecordIds: async (records) => {
        const live = await facesQueue.liveJobIds(records.map(embedRecordJobId));
        return new Set(records.filter((record) => live.has(embedRecordJobId(record))).map((record) => record.id));
      },
      counts: () => facesQueue.counts(),
      serverRunId: () => facesQueue.serverRunId(),
    },
    secret: config.secret,
    secretKeyId: config.secretKeyId,
    maxRowsPerBatch: config.upload.maxRowsPerBatch,
    maxQueuedRecords: config.maxQueuedRecords,
    watchdogAfterMs: config.queueWatchdogMs,
    logger,
  });
  return {
    config,
    pool,
    photos,
    facesQueue,
    clusterQueue,
    checksQueue,
    queueDashboard,
    auth: authService,
    auditChain: new AuditChainService(audit),
    batches: new BatchService(batchRepository),
    clusters: new ClusterQueryService(clusterReadModel, reviewRepository, new FileStore(config.dataDir), faceRules),
    exports: new ExportService({ exports: new ExportRepository(pool, config.dataDir), operators: authService }),
    review: new ReviewService({
      review: reviewRepository,
      clusters: clusterReadModel,
      queue: { requestRecompute: (reason) => clusterQueue.add([applyConstraintsJob(reason)]) },
    }),
    ingest,
    accessLog: new AccessLogRepository(pool),
    erasure: new ErasureService({
      store: new ErasureRepository(pool),
      files: {
        removePhoto: async (sha256, mimeType) => {
          // After an erasure, a concurrent upload of the same bytes may have stored the photo again: its file stays.
          if (!(await batchRepository.knownPhotos([sha256])).has(sha256.toString('hex'))) {
            await photos.remove(sha256, mimeType);
          }
        },
        removePurgedPhoto: async (sha256, mimeType, since) => {
          await photos.removeUnlessTouchedSince(sha256, mimeType, since);
        },
        removeDerived: (relative) => photos.removeDerived(relative),
      },
      queue: { sweepClusters: () => clusterQueue.add([clusterSweepJob(`erasure-${Date.now()}`)]) },
      secret: config.secret,
      clearedRetentionDays: config.clearedRetentionDays,
      photoRetentionDays: config.photoRetentionDays,
    }),
    checks: new CheckService({
      dispatcher: {
        request: (payload, id) => checksQueue.request<CheckResult>(checkFaceJob(payload, id), config.checks.timeoutMs),
      },
      ingest,
      secret: config.secret,
      maxPhotoBytes: config.upload.maxPhotoBytes,
      rateLimit: { perKeyPerMinute: config.checks.perKeyPerMinute, counter: checksPerKey },
      audit,
    }),
    photoSweep: new PhotoSweepService({ files: photos, photos: batchRepository }, config.orphanPhotoGraceMs),
    async start() {
      await changes?.start();
    },
    async close() {
      authFailures.close();
      checksPerKey.close();
      await changes?.close();
      await facesQueue.close();
      await clusterQueue.close();
      await checksQueue.close();
      await queueDashboard.close();
      await pool.end();
    },
  };
}

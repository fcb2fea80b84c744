import type { Config } from './config.js';
import { ApiKeyRepository } from './repositories/api-key.repository.js';
import { AuditRepository } from './repositories/audit.repository.js';
import { BatchRepository } from './repositories/batch.repository.js';
import { createPool, type Pool } from './repositories/database.js';
import { OperatorRepository } from './repositories/operator.repository.js';
import { PhotoStoreRepository } from './repositories/photo-store.repository.js';
import { JobQueueRepository } from './repositories/job-queue.repository.js';
import { QueueName, embedRecordJob } from './jobs/job-registry.js';
import { AuditChainService } from './services/audit-chain.service.js';
import { AuthService } from './services/auth.service.js';
import { BatchService } from './services/batch.service.js';
import { ClusterQueryService } from './services/cluster-query.service.js';
import { ClusterRepository } from './repositories/cluster.repository.js';
import { IngestService, type IngestLogger } from './services/ingest.service.js';

/** The composition root: builds every repository and service once, and closes them in order. */
export interface Container {
  config: Config;
  pool: Pool;
  photos: PhotoStoreRepository;
  facesQueue: JobQueueRepository;
  clusterQueue: JobQueueRepository;
  auth: AuthService;
  auditChain: AuditChainService;
  batches: BatchService;
  clusters: ClusterQueryService;
  ingest: IngestService;
  close(): Promise<void>;
}

export function createContainer(config: Config, logger: IngestLogger): Container {
  const pool = createPool(config.databaseUrl);
  const photos = new PhotoStoreRepository(config.dataDir, config.upload);
  const facesQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Faces);
  const clusterQueue = new JobQueueRepository(config.redisUrl, config.queuePrefix, QueueName.Cluster);
  const batchRepository = new BatchRepository(pool);
  const operators = new OperatorRepository(pool);
  const audit = new AuditRepository(pool);
  return {
    config,
    pool,
    photos,
    facesQueue,
    clusterQueue,
    auth: new AuthService({ keys: new ApiKeyRepository(pool), operators, audit }),
    auditChain: new AuditChainService(audit),
    batches: new BatchService(batchRepository),
    clusters: new ClusterQueryService(new ClusterRepository(pool), config.dataDir),
    ingest: new IngestService({
      batches: batchRepository,
      photos,
      queue: { enqueueRecords: (recordIds) => facesQueue.add(recordIds.map(embedRecordJob)) },
      secret: config.secret,
      maxRowsPerBatch: config.upload.maxRowsPerBatch,
      logger,
    }),
    async close() {
      await facesQueue.close();
      await clusterQueue.close();
      await pool.end();
    },
  };
}

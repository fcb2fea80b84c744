import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createContainer, type Container } from './container.js';
import { migrateDatabase } from './repositories/database.js';
import { repeat } from './repeat.js';

export interface RunningServer {
  app: FastifyInstance;
  container: Container;
  url: string;
  close(): Promise<void>;
}

const PHOTO_SWEEP_INTERVAL_MS = 60 * 60_000;
const RETENTION_INTERVAL_MS = 60 * 60_000;

/**
 * Migrates, builds the API and listens. Also runs the reconciler that queues records accepted while Redis
 * was unreachable, so an upload is never lost to a Redis outage, and the sweep that deletes the photos of
 * uploads that never committed (see PhotoSweepService).
 */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const migrations = await migrateDatabase(config);
  if (migrations.applied.length > 0) logger.info({ applied: migrations.applied }, 'database migrated');
  if (config.secretGenerated) {
    logger.warn({ file: `${config.dataDir}/secret.key` }, 'SIMSIFT_SECRET not set: generated a development secret');
  }
  const container = createContainer(config, logger);
  await container.start();
  const otherSecrets = await container.ingest.recordsUnderOtherSecrets();
  if (otherSecrets.length > 0) {
    logger.warn(
      { secretKeyId: config.secretKeyId, otherKeys: otherSecrets },
      'stored records were hashed under another SIMSIFT_SECRET: their identity documents cannot match new ones ' +
        '(see README, "Rotating the secret")',
    );
  }
  const app = await buildApp({ container, logger });
  const url = await app.listen({ host: config.host, port: config.port });

  const reconciler = repeat(config.reconcileIntervalMs, async () => {
    try {
      const queued = await container.ingest.reconcile();
      if (queued > 0) logger.info({ queued }, 'reconciler queued waiting records');
    } catch (error) {
      logger.warn({ err: error }, 'reconciler could not queue waiting records; will retry');
    }
  });
  const photoSweep = repeat(PHOTO_SWEEP_INTERVAL_MS, async () => {
    try {
      const removed = await container.photoSweep.sweep();
      if (removed.orphanPhotos + removed.scratchFiles > 0) logger.info(removed, 'removed files of uncommitted uploads');
    } catch (error) {
      logger.warn({ err: error }, 'orphan photo sweep failed; will retry');
    }
  });

  const retention = repeat(RETENTION_INTERVAL_MS, async () => {
    try {
      const erased = await container.erasure.applyRetention();
      if (erased.records > 0) logger.info(erased, "erased cleared subscribers' records past their retention");
      const photos = await container.erasure.applyPhotoRetention();
      if (photos > 0) logger.info({ photos }, 'deleted original photos past their retention');
    } catch (error) {
      logger.warn({ err: error }, 'retention pass failed; will retry');
    }
  });

  return {
    app,
    container,
    url,
    async close() {
      reconciler.stop();
      photoSweep.stop();
      retention.stop();
      await app.close();
      await container.close();
    },
  };
}

/**
 * Entry point of one face worker process (forked by `simsift worker --processes N`, or run directly).
 */
import { ConfigError, loadConfig } from '../src/config.js';
import { runFaceWorker } from '../src/face-worker-runtime.js';
import { createLogger } from '../src/logger.js';
import { exitAfter } from '../src/shutdown.js';

let config;
try {
  // A face worker hashes no identity document: it needs no SIMSIFT_SECRET (and is better off without it).
  config = loadConfig(process.env, { secret: 'ephemeral' });
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`simsift worker: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
const logger = createLogger(config, 'simsift-face-worker');
try {
  const worker = await runFaceWorker(config, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'finishing the current job, then exiting');
    // BullMQ's close can hang on a blocking connection left reconnecting (taskforcesh/bullmq#4656, open; seen
    // once after the Redis fault test's restart). Past the job lock a job this process still held goes to
    // another worker anyway, and its face row is upserted, so exiting then loses nothing.
    exitAfter(config.faces.jobLockMs, logger);
    worker.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.send?.({ type: 'ready' });
} catch (error) {
  logger.fatal({ err: error }, 'face worker failed to start');
  process.exit(1);
}

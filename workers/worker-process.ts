import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { serveWorkerMetrics } from '../src/metrics/metrics-server.js';
import { WorkerMetrics } from '../src/metrics/worker.metrics.js';
import { exitAfter } from '../src/shutdown.js';

/**
 * Runs one worker process: loads the configuration (a ConfigError exits 2), serves its metrics when
 * SIMSIFT_WORKER_METRICS_PORT is set, starts the worker, tells a forking parent it is ready, and on SIGTERM or
 * SIGINT lets the current job finish, exiting within `stopDeadlineMs`.
 */
export async function runWorkerProcess(
  name: string,
  start: (config: Config, logger: Logger, metrics: WorkerMetrics) => Promise<{ close(): Promise<void> }>,
  stopDeadlineMs: (config: Config) => number,
): Promise<void> {
  let config: Config;
  try {
    // Workers hash no identity document: they need no SIMSIFT_SECRET (and are better off without it).
    config = loadConfig(process.env, { secret: 'ephemeral' });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config, name);
  try {
    const metrics = new WorkerMetrics();
    // Before the models load (seconds): the process's own metrics are there from the start, and a port already
    // taken stops the worker here with a clear error. It keeps serving until the process exits.
    await serveWorkerMetrics(config.workerMetrics, metrics.registry, logger);
    const worker = await start(config, logger, metrics);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'finishing the current job, then exiting');
      // BullMQ's close can hang on a blocking connection left reconnecting (taskforcesh/bullmq#4656, open; seen
      // once after the Redis fault test's restart). Past the deadline a job this process still held goes to
      // another worker anyway, and what it writes is idempotent, so exiting then loses nothing.
      exitAfter(stopDeadlineMs(config), logger);
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
    logger.fatal({ err: error }, `${name} failed to start`);
    process.exit(1);
  }
}

import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { exitAfter } from '../src/shutdown.js';

/**
 * Runs one worker process: loads the configuration (a ConfigError exits 2), starts the worker, tells a forking
 * parent it is ready, and on SIGTERM or SIGINT lets the current job finish, exiting within `stopDeadlineMs`.
 */
export async function runWorkerProcess(
  name: string,
  start: (config: Config, logger: Logger) => Promise<{ close(): Promise<void> }>,
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
    const worker = await start(config, logger);
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

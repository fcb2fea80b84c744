/**
 * The cluster worker on its own in a process, so fault tests can kill -9 it without taking the face workers
 * (`simsift worker` runs both in one process). Config comes from the environment like the real worker's.
 */
import { runClusterWorker } from '../../src/cluster-worker-runtime.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

const config = loadConfig();
const worker = await runClusterWorker(config, createLogger(config, 'test-cluster-worker'));
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready' });

import type { Logger } from 'pino';
import type { Config } from '../../src/config.js';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { runFaceWorker } from '../../workers/face-worker-runtime.js';

/** One face worker and the cluster worker in this process, as `simsift worker` runs them; close stops both. */
export async function startWorkers(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  const faces = await runFaceWorker(config, logger);
  const clusters = await runClusterWorker(config, logger);
  return {
    async close() {
      await clusters.close();
      await faces.close();
    },
  };
}

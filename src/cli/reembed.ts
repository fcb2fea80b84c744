import type { Config } from '../config.js';
import { createContainer } from '../container.js';
import { reembedRecordJob } from '../jobs/job-registry.js';
import { createLogger } from '../logger.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { migrateDatabase } from '../repositories/database.js';
import { embedderOf } from '../repositories/face-engine/model-manifest.js';
import { FaceRepository } from '../repositories/face.repository.js';
import { ReembedService } from '../services/reembed.service.js';
import { progressBar, type ProgressBar } from './progress.js';
import { runRecluster } from './recluster.js';

/**
 * `simsift reembed`: recomputes the descriptors stored by an older version of the configured embedder, with
 * a progress bar, while the API and workers run; then clusters every face again (`recluster --apply`).
 */
export async function runReembed(config: Config) {
  await migrateDatabase(config);
  const container = createContainer(config, createLogger({ logLevel: 'warn' }));
  let bar: ProgressBar | null = null;
  let total = 0;
  try {
    const embedder = await embedderOf(config.faces.embedder);
    const service = new ReembedService({
      faces: new FaceRepository(container.pool),
      queue: {
        enqueue: (recordIds, runId) => container.facesQueue.add(recordIds.map((id) => reembedRecordJob(id, runId))),
      },
      clusters: {
        markReembedded: (name, faces) => new ClusterRepository(container.pool).markReembedded(name, faces),
        recluster: () => runRecluster(config, { apply: true }),
      },
    });
    const result = await service.run(embedder, {
      onStart: (n) => {
        total = n;
        if (n > 0) bar = progressBar('reembed', n, 'faces');
      },
      onProgress: (left) => bar?.update(total - left),
    });
    return { embedder, ...result };
  } finally {
    (bar as ProgressBar | null)?.stop();
    await container.close();
  }
}

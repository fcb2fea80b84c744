import type { JobName } from './job-registry.js';
import type { JobHandler } from './queue-worker.js';

/**
 * Handles {@link JobName.ClusterFace}: a stored face (or a sweep, with face 0) wakes the single cluster writer,
 * which clusters every pending face, not only this one, under its lock.
 */
export function clusterFaceHandler(clusterPending: () => Promise<unknown>): JobHandler<typeof JobName.ClusterFace> {
  return () => clusterPending();
}

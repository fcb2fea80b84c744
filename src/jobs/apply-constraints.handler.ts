import type { JobName } from './job-registry.js';
import type { JobHandler } from './queue-worker.js';

/**
 * Handles {@link JobName.ApplyConstraints}: an analyst split or merged clusters; the cluster writer applies every
 * new constraint (and clusters any pending face) under its lock. The payload's reason is for logs only.
 */
export function applyConstraintsHandler(
  clusterPending: () => Promise<unknown>,
): JobHandler<typeof JobName.ApplyConstraints> {
  return () => clusterPending();
}

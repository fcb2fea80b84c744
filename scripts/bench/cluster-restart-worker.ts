/**
 * Child process of the cluster bench: a cluster worker's start from the saved index, in a fresh process as a
 * restarted worker's would be (ClusterService.restoreWithGallery, through adoptSavedGallery): load the index and the gallery saved beside
 * it (checksums, usearch load), check the gallery's faces are in the index, reconcile it page by page with the
 * faces and clusters Postgres would return (read here from a file the bench wrote: `gallery_read` times
 * Postgres's part), and adopt it into a clusterer.
 *
 * Messages: in a {@link RestartTask}; out its {@link RestartMeasurement}.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { UsearchIndex, type UsearchIndexOptions } from '../../src/repositories/usearch-index.repository.js';
import {
  adoptSavedGallery,
  MEMBERSHIP_PAGE,
  readMembershipPages,
} from '../../src/services/clustering/saved-gallery.js';
import type { ClusterRules } from '../../src/services/clustering/face-clusterer.js';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';

export interface RestartTask {
  directory: string;
  /** The saved index, in `directory` (its gallery and sidecar beside it). */
  indexFile: string;
  /** Every face's id then cluster (f64 each, MEMBERSHIP_PAGE faces a page), as Postgres returns them. */
  membershipsFile: string;
  total: number;
  dimensions: number;
  indexOptions: UsearchIndexOptions;
  rules: ClusterRules;
}

export interface RestartMeasurement {
  loadSeconds: number;
  restoreSeconds: number;
  cpuSeconds: number;
  rss: number;
}

process.once('message', (task: RestartTask) => {
  void measureRestart(task).then(
    (figures) => process.send!(figures, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`restart failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});

async function measureRestart(task: RestartTask): Promise<RestartMeasurement> {
  const { total } = task;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const indexFile = new UsearchIndexFile(
    path.join(task.directory, task.indexFile),
    () => new UsearchIndex('euclidean', task.dimensions, task.indexOptions),
  );
  const loaded = await indexFile.load();
  if (!('index' in loaded) || loaded.index.size !== total || !loaded.gallery) {
    throw new Error(`saved index did not load: ${'index' in loaded ? loaded.galleryUnusable : loaded.unusable}`);
  }
  const loadSeconds = (performance.now() - started) / 1000;
  const { pages, dimensions, facesPerPage } = loaded.gallery;
  const gallery = FaceVectorStore.fromPages(pages, dimensions, facesPerPage);
  const handle = await open(path.join(task.directory, task.membershipsFile), 'r');
  let from = 0;
  // The file holds every face's id and cluster, page after page, as Postgres would return them in order.
  const readMemberships = async () => {
    const count = Math.max(0, Math.min(MEMBERSHIP_PAGE, total - from));
    const page = new Float64Array(count * 2);
    await handle.read(new Uint8Array(page.buffer), 0, page.byteLength, from * 16);
    from += count;
    return { faceIds: page.subarray(0, count), clusterIds: page.subarray(count) };
  };
  let memberships;
  try {
    memberships = await readMembershipPages(readMemberships, loaded.watermark.lastFaceId);
  } finally {
    await handle.close();
  }
  const adopted = adoptSavedGallery(loaded.index, gallery, loaded.watermark, task.rules, memberships);
  if (!adopted || adopted.kept !== total) throw new Error(`reconciled ${adopted?.kept} saved faces of ${total}`);
  const usage = process.cpuUsage(cpuStart);
  return {
    loadSeconds,
    restoreSeconds: (performance.now() - started) / 1000 - loadSeconds,
    cpuSeconds: (usage.user + usage.system) / 1e6,
    rss: process.memoryUsage().rss,
  };
}

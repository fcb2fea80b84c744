/** What `simsift reembed` reads and writes. */
export interface ReembedDeps {
  faces: {
    countStaleFaces(embedder: string, currentVersion: string): Promise<number>;
    staleFaces(
      embedder: string,
      currentVersion: string,
      afterFaceId: number,
      limit: number,
    ): Promise<{ faceId: number; recordId: number }[]>;
  };
  /** Queues the records' face jobs again (the face workers recompute and upsert their faces). */
  queue: { enqueue(recordIds: readonly number[], runId: string): Promise<void> };
  clusters: {
    /** Tells every cluster worker to reload its vectors (and not to trust an index saved before). */
    markReembedded(embedder: string, faces: number): Promise<number>;
    /** Clusters every face again with the new descriptors (`simsift recluster --apply`). */
    recluster(): Promise<unknown>;
  };
}

export interface ReembedProgress {
  /** Faces with an old descriptor when the run started, and how many are left. */
  onStart?(total: number): void;
  onProgress?(left: number): void;
}

/**
 * Recomputes the stored descriptors that another version of the embedder made (an older pipeline or weights),
 * while the API and the workers keep running: the records' face jobs are queued again, the face workers
 * upsert each face in place, and when none is left the cluster workers reload the vectors and every face is
 * clustered again under the new thresholds. Resumable: the state is the faces in Postgres, so a second run
 * takes up what the first left.
 */
export class ReembedService {
  constructor(
    private readonly deps: ReembedDeps,
    private readonly options: { pageSize: number; pollMs: number; stallMs: number } = {
      pageSize: 1_000,
      pollMs: 1_000,
      stallMs: 10 * 60_000,
    },
  ) {}

  async run(
    embedder: { name: string; version: string },
    progress: ReembedProgress = {},
  ): Promise<{ queued: number; reembedded: number; reclustered: unknown }> {
    const { faces, queue, clusters } = this.deps;
    const total = await faces.countStaleFaces(embedder.name, embedder.version);
    progress.onStart?.(total);
    if (total === 0) return { queued: 0, reembedded: 0, reclustered: null };
    const runId = Date.now().toString(36);
    let queued = 0;
    for (let after = 0; ;) {
      const page = await faces.staleFaces(embedder.name, embedder.version, after, this.options.pageSize);
      if (page.length === 0) break;
      await queue.enqueue(
        page.map((face) => face.recordId),
        runId,
      );
      queued += page.length;
      after = page.at(-1)!.faceId;
    }
    // Wait until the face workers have rewritten every face; a long stall means no worker is running.
    let left = total;
    let lastChange = Date.now();
    while (left > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs));
      const now = await faces.countStaleFaces(embedder.name, embedder.version);
      if (now !== left) lastChange = Date.now();
      left = now;
      progress.onProgress?.(left);
      if (left > 0 && Date.now() - lastChange > this.options.stallMs) {
        throw new Error(
          `${left} faces still have old descriptors and none changed for ${this.options.stallMs / 1000} s: ` +
            'is `simsift worker` running? Run `simsift reembed` again to resume.',
        );
      }
    }
    await clusters.markReembedded(embedder.name, total);
    return { queued, reembedded: total, reclustered: await clusters.recluster() };
  }
}

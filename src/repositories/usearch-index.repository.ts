import { Index, MetricKind, ScalarKind } from 'usearch';
import type { Metric, NeighbourIndex } from '../services/clustering/face-clusterer.js';

/**
 * Approximate nearest neighbours over face descriptors (HNSW, usearch's prebuilt native library), in process.
 * It holds no state of its own: the cluster worker rebuilds it from the faces in Postgres on start.
 */
export class UsearchIndex implements NeighbourIndex {
  private readonly index: Index;

  constructor(
    private readonly metric: Metric,
    dimensions: number,
    options: { connectivity?: number; expansionAdd?: number; expansionSearch?: number } = {},
  ) {
    this.index = new Index({
      metric: metric === 'euclidean' ? MetricKind.L2sq : MetricKind.Cos,
      dimensions,
      connectivity: options.connectivity ?? 16,
      expansion_add: options.expansionAdd ?? 128,
      expansion_search: options.expansionSearch ?? 256,
      quantization: ScalarKind.F32,
      multi: false,
    });
  }

  get size(): number {
    return Number(this.index.size());
  }

  add(faceId: number, vector: Float32Array): void {
    this.index.add(BigInt(faceId), vector);
  }

  search(vector: Float32Array, k: number): { faceId: number; distance: number }[] {
    if (this.size === 0) return [];
    const matches = this.index.search(vector, Math.min(k, this.size), 0);
    const hits: { faceId: number; distance: number }[] = [];
    matches.keys.forEach((key: bigint, i: number) => {
      const raw = matches.distances[i]!;
      // usearch's l2sq is the squared distance; thresholds are calibrated on the plain one.
      hits.push({ faceId: Number(key), distance: this.metric === 'euclidean' ? Math.sqrt(Math.max(0, raw)) : raw });
    });
    return hits;
  }
}

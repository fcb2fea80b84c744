import type { FaceVectorStore } from './face-vector-store.js';

/** Bits of a cluster id sorted per pass: 65,536 counters (256 KB) stay in the cache. */
const DIGIT_BITS = 16;
const DIGITS = 1 << DIGIT_BITS;

/** The gallery's faces as two columns, ordered by cluster id and, within a cluster, as the gallery holds them. */
export interface FacesByCluster {
  clusterIds: Float64Array;
  faceIds: Float64Array;
}

/**
 * Orders the gallery's faces by cluster (a stable radix sort, least significant 16 bits first). Every face must
 * have a cluster id, a safe non-negative integer (Postgres's).
 */
export function facesByCluster(gallery: FaceVectorStore): FacesByCluster {
  let clusterIds = new Float64Array(gallery.size);
  let faceIds = new Float64Array(gallery.size);
  let highest = 0;
  let at = 0;
  for (const page of gallery.savedPages()) {
    for (let i = 0; i < page.faceIds.length; i++, at++) {
      const clusterId = page.clusterIds[i]!;
      if (!Number.isSafeInteger(clusterId) || clusterId < 0) {
        throw new Error(`saved face ${page.faceIds[i]} has no cluster (${clusterId})`);
      }
      clusterIds[at] = clusterId;
      faceIds[at] = page.faceIds[i]!;
      if (clusterId > highest) highest = clusterId;
    }
  }
  let sortedClusterIds = new Float64Array(gallery.size);
  let sortedFaceIds = new Float64Array(gallery.size);
  const starts = new Int32Array(DIGITS);
  for (let scale = 1; highest >= scale; scale *= DIGITS) {
    const digitOf = (clusterId: number) => Math.floor(clusterId / scale) % DIGITS;
    starts.fill(0);
    for (let i = 0; i < clusterIds.length; i++) starts[digitOf(clusterIds[i]!)]!++;
    for (let digit = 0, start = 0; digit < DIGITS; digit++) {
      const count = starts[digit]!;
      starts[digit] = start;
      start += count;
    }
    for (let i = 0; i < clusterIds.length; i++) {
      const to = starts[digitOf(clusterIds[i]!)]!++;
      sortedClusterIds[to] = clusterIds[i]!;
      sortedFaceIds[to] = faceIds[i]!;
    }
    [clusterIds, sortedClusterIds] = [sortedClusterIds, clusterIds];
    [faceIds, sortedFaceIds] = [sortedFaceIds, faceIds];
  }
  return { clusterIds, faceIds };
}

export interface Cluster {
  id: number;
  members: number[];
}

/**
 * The clusterer's clusters by id. Those taken back from a saved gallery stay as the two sorted columns of
 * facesByCluster until one is first used, when it becomes a Cluster like any other. Building millions of
 * Clusters at start, each face looking its cluster up at random, took 26 s at 10M faces (0.7 s at 1M; a cache
 * and TLB miss or several per face, and the collector moving 5.7M objects): most of a restart. Sorting is 1-2 s,
 * and a cluster's first use costs a binary search.
 */
export class ClusterTable {
  /** Clusters in use; null marks a restored cluster since deleted (merged into another). */
  private readonly live = new Map<number, Cluster | null>();
  private restored: FacesByCluster = { clusterIds: new Float64Array(0), faceIds: new Float64Array(0) };

  /** A table holding the gallery's clusters (see facesByCluster); returns it and the highest cluster id (-1: none). */
  static restoring(gallery: FaceVectorStore): { table: ClusterTable; highestId: number } {
    const table = new ClusterTable();
    table.restored = facesByCluster(gallery);
    return { table, highestId: table.restored.clusterIds.at(-1) ?? -1 };
  }

  get(id: number): Cluster | undefined {
    const cluster = this.live.get(id);
    if (cluster !== undefined) return cluster ?? undefined;
    const { start, end } = this.restoredRun(id);
    if (start === end) return undefined;
    const used = { id, members: Array.from(this.restored.faceIds.subarray(start, end)) };
    this.live.set(id, used);
    return used;
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, cluster: Cluster): void {
    this.live.set(id, cluster);
  }

  delete(id: number): void {
    const { start, end } = this.restoredRun(id);
    if (start < end) this.live.set(id, null);
    else this.live.delete(id);
  }

  /** Every cluster, those in use first. */
  *values(): Generator<Cluster> {
    for (const cluster of this.live.values()) if (cluster) yield cluster;
    const { clusterIds } = this.restored;
    for (let start = 0; start < clusterIds.length;) {
      const id = clusterIds[start]!;
      let end = start + 1;
      while (end < clusterIds.length && clusterIds[end] === id) end++;
      if (!this.live.has(id)) yield { id, members: Array.from(this.restored.faceIds.subarray(start, end)) };
      start = end;
    }
  }

  /** Where a restored cluster's faces lie in the sorted columns (start === end: not restored). */
  private restoredRun(id: number): { start: number; end: number } {
    const { clusterIds } = this.restored;
    const firstAtLeast = (value: number) => {
      let low = 0;
      let high = clusterIds.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (clusterIds[middle]! < value) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    const start = firstAtLeast(id);
    if (start === clusterIds.length || clusterIds[start] !== id) return { start, end: start };
    return { start, end: firstAtLeast(id + 1) };
  }
}

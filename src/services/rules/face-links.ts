import { faceDistance } from '../face-distance.js';
import type { Metric, Neighbour } from '../clustering/face-clusterer.js';
import type { FaceLink } from './identity-graph.js';

/** The stored faces the identity graph searches: the cluster worker's live index, or an in-process one. */
export interface FaceGallery {
  readonly metric: Metric;
  readonly size: number;
  vectorOf(faceId: number): Float32Array | undefined;
  /** Up to `k` nearest stored faces, nearest first (the query face itself included when stored). */
  searchMany(vectors: readonly Float32Array[], k: number): Neighbour[][];
}

/**
 * A face's cohort: its neighbours ranked `from` to `to` (1 = nearest other face). Ranks past a person's own
 * photos are strangers in all but the largest cases: rings hold 3-4 photos and a cap breach about 10.
 */
export const COHORT_RANKS = { from: 12, to: 40 } as const;

export interface FaceNeighbourhoods {
  links: FaceLink[];
  cohort: (faceId: number) => { mean: number; sd: number } | null;
  distance: (faceA: number, faceB: number) => number;
}

/**
 * Searches the gallery for each face: the pairs closer than `maxDistance` become links, and the neighbours at
 * {@link COHORT_RANKS} give the face's cohort (none when the gallery has too few faces for one).
 */
export function faceNeighbourhoods(
  gallery: FaceGallery,
  faceIds: readonly number[],
  maxDistance: number,
): FaceNeighbourhoods {
  const present = faceIds.filter((faceId) => gallery.vectorOf(faceId) !== undefined);
  const k = Math.min(gallery.size, COHORT_RANKS.to + 1);
  const results =
    k > 0
      ? gallery.searchMany(
          present.map((faceId) => gallery.vectorOf(faceId)!),
          k,
        )
      : [];
  const seen = new Set<string>();
  const links: FaceLink[] = [];
  const cohorts = new Map<number, { mean: number; sd: number }>();
  present.forEach((faceId, i) => {
    const others = (results[i] ?? []).filter((n) => n.faceId !== faceId);
    for (const n of others) {
      if (n.distance >= maxDistance) break;
      const key = faceId < n.faceId ? `${faceId}:${n.faceId}` : `${n.faceId}:${faceId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      links.push({ faceA: Math.min(faceId, n.faceId), faceB: Math.max(faceId, n.faceId), distance: n.distance });
    }
    const cohort = others.slice(COHORT_RANKS.from - 1, COHORT_RANKS.to).map((n) => n.distance);
    if (cohort.length >= (COHORT_RANKS.to - COHORT_RANKS.from + 1) / 2) {
      const mean = cohort.reduce((sum, d) => sum + d, 0) / cohort.length;
      const sd = Math.sqrt(cohort.reduce((sum, d) => sum + (d - mean) ** 2, 0) / cohort.length);
      cohorts.set(faceId, { mean, sd });
    }
  });
  return {
    links,
    cohort: (faceId) => cohorts.get(faceId) ?? null,
    distance: (faceA, faceB) => {
      const a = gallery.vectorOf(faceA);
      const b = gallery.vectorOf(faceB);
      return a && b ? faceDistance(a, b, gallery.metric) : Infinity;
    },
  };
}

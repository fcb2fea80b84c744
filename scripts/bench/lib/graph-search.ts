/**
 * What the cluster benches measure of a built graph: 1:N query latency, and whether the graph finds the
 * same-person partners the clusterer needs (against an exact scan). Shared by the cluster bench (on the graph
 * it built) and cluster_search (on a graph it saved, searched at another breadth).
 */
import { exactSearch, MetricKind, type BatchMatches } from 'usearch';
import type { UsearchIndex } from '../../../src/repositories/usearch-index.repository.js';
import type { GalleryPage } from '../../../src/services/clustering/face-vector-store.js';
import { faceDistance } from '../../../src/services/face-distance.js';

/** Same-person pairs ranked: 5,000 judge a 0.99 share to about +-0.3%. */
const RANKED_PAIRS = 5_000;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

/** 1,000 queries of stored faces spread over the gallery, one at a time (as the API asks them), 32 nearest. */
export function queryLatency(
  index: UsearchIndex,
  vectorOf: (faceId: number) => Float32Array,
  total: number,
): { p50: number; p99: number } {
  const latencies: number[] = [];
  for (let q = 0; q < 1000; q++) {
    const vector = vectorOf((q * 7919) % total);
    const t = performance.now();
    index.search(vector, 32);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

export interface PartnerRecall {
  /** Same-person pairs within the pair threshold in the whole gallery, and how many were ranked. */
  pairs: number;
  ranked: number;
  /** Ranked pairs whose partner the graph returned among the `neighbours` nearest. */
  found: number;
  /** Ranked pairs whose partner an exact scan ranks among the `neighbours` nearest, and of those the graph found. */
  inExactReach: number;
  foundInReach: number;
}

/** Same-person pairs to rank, and for each whether an exact scan puts the partner in reach (see partnersFound). */
export interface RankedPairs {
  inGallery: number;
  pairs: [number, number][];
  inExactReach: boolean[];
}

/**
 * Same-person pairs closer than the pair threshold (what the clusterer must find), up to `ranked` of them
 * spread over the whole gallery, each ranked by an exact scan: is the partner among its query's `neighbours`
 * nearest? Not every miss is the graph's: at the threshold's FAR of ~1e-3 a face has ~1 stranger within the
 * threshold per 1,000 gallery faces, so at 100k+ the partner can be beyond the `neighbours` nearest even in an
 * exact scan. `identities`: each face's identity, an identity's faces consecutive. 5,000 pairs judge a 0.99
 * share to about +-0.3%; the exact scan costs about 6 minutes per 1,000 pairs at 10M faces.
 */
export function rankedPairs(
  pages: () => Iterable<GalleryPage>,
  vectorOf: (faceId: number) => Float32Array,
  identities: Int32Array,
  pairThreshold: number,
  neighbours: number,
  ranked = RANKED_PAIRS,
): RankedPairs {
  const total = identities.length;
  const allPairs: [number, number][] = [];
  for (let first = 0; first < total;) {
    let end = first + 1;
    while (end < total && identities[end] === identities[first]) end++;
    for (let a = first; a < end; a++) {
      for (let b = first; b < end; b++) {
        if (a !== b && faceDistance(vectorOf(a), vectorOf(b), 'euclidean') < pairThreshold) allPairs.push([a, b]);
      }
    }
    first = end;
  }
  const pairStride = Math.max(1, allPairs.length / ranked);
  const pairs = Array.from(
    { length: Math.min(ranked, allPairs.length) },
    (_, i) => allPairs[Math.floor(i * pairStride)]!,
  );
  const exactNearest = exactNearestFaces(
    pages(),
    pairs.map(([a]) => vectorOf(a)),
    neighbours + 1,
  );
  const inExactReach = pairs.map(([a, b], p) =>
    exactNearest[p]!.filter((faceId) => faceId !== a)
      .slice(0, neighbours)
      .includes(b),
  );
  return { inGallery: allPairs.length, pairs, inExactReach };
}

/**
 * Whether the graph returns each ranked pair's partner among the query's `neighbours` nearest (one batch). With
 * `fetched` above `neighbours`, the graph is asked for `fetched` hits, re-scored exactly (f32) and cut back to
 * `neighbours`: a partner the graph ranks just past the cut (bf16 distances within ~1e-3, strangers nearly as
 * near) is found that way; one its search never reached is not.
 */
export function partnersFound(
  index: UsearchIndex,
  ranked: RankedPairs,
  vectorOf: (faceId: number) => Float32Array,
  neighbours: number,
  fetched = neighbours,
): PartnerRecall {
  const hits = index.searchMany(
    ranked.pairs.map(([a]) => vectorOf(a)),
    fetched,
  );
  const found = ranked.pairs.map(([a, b], p) => {
    const query = vectorOf(a);
    const nearest =
      fetched > neighbours
        ? hits[p]!.map((hit) => ({
            faceId: hit.faceId,
            distance: faceDistance(query, vectorOf(hit.faceId), 'euclidean'),
          }))
            .sort((x, y) => x.distance - y.distance)
            .slice(0, neighbours)
        : hits[p]!;
    return nearest.some((hit) => hit.faceId === b);
  });
  return {
    pairs: ranked.inGallery,
    ranked: ranked.pairs.length,
    found: found.filter(Boolean).length,
    inExactReach: ranked.inExactReach.filter(Boolean).length,
    foundInReach: found.filter((hit, p) => hit && ranked.inExactReach[p]).length,
  };
}

/**
 * The `count` nearest stored faces to each query by an exact scan (usearch's exactSearch, on all cores), page by
 * page of the gallery, nearest first.
 */
function exactNearestFaces(pages: Iterable<GalleryPage>, queries: Float32Array[], count: number): number[][] {
  if (queries.length === 0) return [];
  const dimensions = queries[0]!.length;
  const flat = new Float32Array(queries.length * dimensions);
  queries.forEach((query, q) => flat.set(query, q * dimensions));
  const best = queries.map(() => [] as { faceId: number; distance: number }[]);
  for (const page of pages) {
    const faces = page.faceIds.length;
    const k = Math.min(count, faces);
    // A copy: exactSearch reads a view's whole underlying buffer, not the view.
    const found = exactSearch(page.vectors.slice(), flat, dimensions, k, MetricKind.L2sq, 0) as BatchMatches;
    best.forEach((nearest, q) => {
      for (let i = 0; i < Number(found.counts[q]); i++) {
        const slot = Number(found.keys[q * k + i]);
        nearest.push({ faceId: page.faceIds[slot]!, distance: found.distances[q * k + i]! });
      }
      nearest.sort((x, y) => x.distance - y.distance);
      nearest.length = Math.min(nearest.length, count);
    });
  }
  return best.map((nearest) => nearest.map((hit) => hit.faceId));
}

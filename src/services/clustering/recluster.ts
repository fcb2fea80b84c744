import { faceDistance } from '../face-distance.js';
import type { ClusterConstraints, ClusterRules, NeighbourIndex } from './face-clusterer.js';

/**
 * Batch clustering of all faces at once (`simsift recluster`): agglomerative average linkage over the
 * nearest-neighbour graph. Cluster pairs joined by at least one close pair of faces are merged closest-first
 * while their mean cross distance stays under `averageThreshold`; cannot-link pairs block a merge, must-link
 * pairs are merged first. Unlike the incremental clusterer it does not depend on the order faces arrived in.
 */
export function reclusterAll(
  faces: readonly { faceId: number; vector: Float32Array }[],
  index: NeighbourIndex,
  rules: ClusterRules,
  constraints: ClusterConstraints = { cannotLink: [], mustLink: [] },
): number[][] {
  const n = faces.length;
  const position = new Map(faces.map((face, i) => [face.faceId, i]));
  for (const face of faces) if (index.size < n) index.add(face.faceId, face.vector);

  // Clusters by representative index; `members` and pairwise mean distances between linked clusters.
  const members = new Map<number, number[]>(faces.map((_, i) => [i, [i]]));
  const owner = faces.map((_, i) => i);
  const linkage = new Map<number, Map<number, number>>();
  const distance = (a: number, b: number) => faceDistance(faces[a]!.vector, faces[b]!.vector, rules.metric);
  const setLinkage = (a: number, b: number, value: number) => {
    if (!linkage.has(a)) linkage.set(a, new Map());
    if (!linkage.has(b)) linkage.set(b, new Map());
    linkage.get(a)!.set(b, value);
    linkage.get(b)!.set(a, value);
  };
  for (let i = 0; i < n; i++) {
    // The index only proposes neighbours (a quantized one's distances are approximate, an i8 one's are angles).
    for (const hit of index.search(faces[i]!.vector, rules.neighbours)) {
      const j = position.get(hit.faceId);
      if (j === undefined || j === i) continue;
      const exact = distance(i, j);
      if (exact < rules.pairThreshold) setLinkage(i, j, exact);
    }
  }
  const cannot = new Set(constraints.cannotLink.map(([a, b]) => pairKey(position.get(a) ?? -1, position.get(b) ?? -1)));
  const blocked = (a: number, b: number) =>
    cannot.size > 0 && members.get(a)!.some((x) => members.get(b)!.some((y) => cannot.has(pairKey(x, y))));
  const exactLinkage = (a: number, b: number) => {
    let sum = 0;
    for (const x of members.get(a)!) for (const y of members.get(b)!) sum += distance(x, y);
    return sum / (members.get(a)!.length * members.get(b)!.length);
  };
  const merge = (a: number, b: number) => {
    const [keep, gone] = members.get(a)!.length >= members.get(b)!.length ? [a, b] : [b, a];
    const keepSize = members.get(keep)!.length;
    const goneSize = members.get(gone)!.length;
    const neighbours = new Set([...(linkage.get(keep)?.keys() ?? []), ...(linkage.get(gone)?.keys() ?? [])]);
    neighbours.delete(keep);
    neighbours.delete(gone);
    for (const member of members.get(gone)!) owner[member] = keep;
    members.get(keep)!.push(...members.get(gone)!);
    members.delete(gone);
    for (const other of neighbours) {
      const viaKeep = linkage.get(keep)?.get(other);
      const viaGone = linkage.get(gone)?.get(other);
      // Lance-Williams for average linkage when both sides are known, else the exact mean.
      const value =
        viaKeep !== undefined && viaGone !== undefined
          ? (viaKeep * keepSize + viaGone * goneSize) / (keepSize + goneSize)
          : exactLinkage(keep, other);
      linkage.get(other)?.delete(gone);
      setLinkage(keep, other, value);
    }
    linkage.delete(gone);
    for (const map of linkage.values()) map.delete(gone);
  };

  for (const [a, b] of constraints.mustLink) {
    const x = owner[position.get(a) ?? -1];
    const y = owner[position.get(b) ?? -1];
    if (x !== undefined && y !== undefined && x !== y) merge(x, y);
  }
  // Exact linkage between linked singletons is their distance, so start from the graph's edge values.
  for (;;) {
    let best: { a: number; b: number; value: number } | null = null;
    for (const [a, map] of linkage) {
      for (const [b, value] of map) {
        if (a < b && value < rules.averageThreshold && (!best || value < best.value) && !blocked(a, b)) {
          best = { a, b, value };
        }
      }
    }
    if (!best) break;
    merge(best.a, best.b);
  }
  return [...members.values()]
    .map((list) => list.map((i) => faces[i]!.faceId).sort((x, y) => x - y))
    .sort((x, y) => y.length - x.length || x[0]! - y[0]!);
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

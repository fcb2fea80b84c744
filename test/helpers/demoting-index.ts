import { ExactIndex, type Neighbour } from '../../src/services/clustering/face-clusterer.js';

/**
 * An exact index that ranks some faces just past the first `past` hits, behind strangers, as a bf16 graph at 10M
 * faces can rank a same-person face whose distance is nearly a stranger's.
 */
export class DemotingIndex extends ExactIndex {
  constructor(
    private readonly demoted: ReadonlySet<number>,
    private readonly past: number,
  ) {
    super('euclidean');
  }

  override search(vector: Float32Array, k: number): Neighbour[] {
    const all = super.search(vector, this.size);
    const kept = all.filter((hit) => !this.demoted.has(hit.faceId));
    kept.splice(Math.min(kept.length, this.past), 0, ...all.filter((hit) => this.demoted.has(hit.faceId)));
    return kept.slice(0, k);
  }
}

/** Face 1 at the origin and `strangers` faces (2...) on a circle of radius 0.8 around it. */
export function partnerAmongStrangers(strangers: number): { faceId: number; vector: Float32Array }[] {
  return [
    { faceId: 1, vector: Float32Array.of(0, 0) },
    ...Array.from({ length: strangers }, (_, i) => {
      const angle = (2 * Math.PI * i) / strangers;
      return { faceId: i + 2, vector: Float32Array.of(0.8 * Math.cos(angle), 0.8 * Math.sin(angle)) };
    }),
  ];
}

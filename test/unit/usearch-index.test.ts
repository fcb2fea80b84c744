import { describe, expect, it } from 'vitest';
import { UsearchIndex } from '../../src/repositories/usearch-index.repository.js';

describe('UsearchIndex', () => {
  const vectors = Array.from({ length: 300 }, (_, i) =>
    Float32Array.from({ length: 8 }, (_, d) => Math.sin(i * 7 + d * 3)),
  );

  it('answers a batch search as single searches, with plain euclidean distances', () => {
    const index = new UsearchIndex('euclidean', 8, { threads: 2 });
    index.addMany(
      vectors.map((_, i) => i + 1),
      vectors,
    );
    expect(index.size).toBe(300);
    const batch = index.searchMany(vectors.slice(0, 20), 5);
    batch.forEach((hits, q) => {
      expect(hits).toEqual(index.search(vectors[q]!, 5));
      expect(hits[0]).toEqual({ faceId: q + 1, distance: 0 });
    });
  });

  it('returns nothing from an empty index', () => {
    const index = new UsearchIndex('euclidean', 8);
    expect(index.search(vectors[0]!, 3)).toEqual([]);
    expect(index.searchMany([vectors[0]!, vectors[1]!], 3)).toEqual([[], []]);
  });
});

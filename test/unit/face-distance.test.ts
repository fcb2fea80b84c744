import { describe, expect, it } from 'vitest';
import { distanceBelow, faceDistance } from '../../src/services/face-distance.js';
import { seededRandom } from '../../src/eval/seeded-random.js';

describe('distanceBelow', () => {
  const random = seededRandom(3);
  const vector = () => Float32Array.from({ length: 128 }, () => (random() - 0.5) * 0.2);
  const pairs = Array.from({ length: 300 }, () => {
    const a = vector();
    // Half the pairs near each other, half strangers.
    const b = random() < 0.5 ? a.map((v) => v + (random() - 0.5) * 0.05) : vector();
    return [a, b] as const;
  });

  for (const metric of ['euclidean', 'cosine'] as const) {
    it(`is the exact ${metric} distance under the limit and Infinity at or above it`, () => {
      const limit = metric === 'euclidean' ? 0.5 : 0.3;
      let under = 0;
      for (const [a, b] of pairs) {
        const exact = faceDistance(a, b, metric);
        const bounded = distanceBelow(a, b, metric, limit);
        if (exact < limit) {
          expect(bounded).toBe(exact);
          under++;
        } else {
          expect(bounded).toBe(Infinity);
        }
      }
      // The sample holds both kinds, so both branches were checked.
      expect(under).toBeGreaterThan(50);
      expect(under).toBeLessThan(250);
    });
  }
});

describe('faceDistance', () => {
  it('matches the textbook sums for lengths that are and are not multiples of 8', () => {
    const random = seededRandom(5);
    for (const length of [1, 7, 8, 13, 128, 1024]) {
      const a = Float32Array.from({ length }, () => random() - 0.5);
      const b = Float32Array.from({ length }, () => random() - 0.5);
      let squares = 0;
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < length; i++) {
        squares += (a[i]! - b[i]!) ** 2;
        dot += a[i]! * b[i]!;
        na += a[i]! ** 2;
        nb += b[i]! ** 2;
      }
      expect(faceDistance(a, b, 'euclidean')).toBeCloseTo(Math.sqrt(squares), 10);
      expect(faceDistance(a, b, 'cosine')).toBeCloseTo(1 - dot / Math.sqrt(na * nb), 10);
      expect(faceDistance(a, a, 'euclidean')).toBe(0);
    }
  });
});

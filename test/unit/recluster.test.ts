import { describe, expect, it } from 'vitest';
import { ExactIndex } from '../../src/services/clustering/face-clusterer.js';
import { reclusterAll } from '../../src/services/clustering/recluster.js';
import { TEST_CLUSTER_RULES } from '../helpers/cluster-rules.js';

const rules = TEST_CLUSTER_RULES;
const faces = (points: [number, number][]) =>
  points.map(([x, y], i) => ({ faceId: i + 1, vector: Float32Array.from([x, y]) }));

describe('reclusterAll', () => {
  it('groups tight groups and keeps distant ones apart, whatever the order', () => {
    const points: [number, number][] = [
      [0, 0],
      [5, 5],
      [0.1, 0],
      [5.1, 5],
      [0, 0.1],
    ];
    expect(reclusterAll(faces(points), new ExactIndex('euclidean'), rules)).toEqual([
      [1, 3, 5],
      [2, 4],
    ]);
  });

  it('does not chain a line of look-alikes into one cluster', () => {
    const line = faces(Array.from({ length: 8 }, (_, i): [number, number] => [i * 0.4, 0]));
    const clusters = reclusterAll(line, new ExactIndex('euclidean'), rules);
    expect(clusters.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...clusters.map((c) => c.length))).toBeLessThanOrEqual(2);
  });

  it('honours cannot-link and must-link constraints', () => {
    const points: [number, number][] = [
      [0, 0],
      [0.05, 0],
      [3, 3],
      [4, 4],
    ];
    const clusters = reclusterAll(faces(points), new ExactIndex('euclidean'), rules, {
      cannotLink: [[1, 2]],
      mustLink: [[3, 4]],
    });
    expect(clusters).toEqual([[3, 4], [1], [2]]);
  });
});

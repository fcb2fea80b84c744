import { describe, expect, it } from 'vitest';
import {
  accuracyAt,
  bestThreshold,
  foldedAccuracy,
  parsePairsFile,
  type ScoredPair,
} from '../../src/eval/verification-accuracy.js';

const genuine = (distance: number | null, fold = 0): ScoredPair => ({ distance, same: true, fold });
const impostor = (distance: number | null, fold = 0): ScoredPair => ({ distance, same: false, fold });

describe('parsePairsFile', () => {
  it('reads the LFW header and puts each block of 2n lines in its own fold', () => {
    const text = '2\t1\nAnn 1 2\nAnn 1 Bob 3\nCy 4 5\nCy 4 Dee 1\n';
    const { folds, pairs } = parsePairsFile(text);
    expect(folds).toBe(2);
    expect(pairs.map((pair) => [pair.fold, pair.same])).toEqual([
      [0, true],
      [0, false],
      [1, true],
      [1, false],
    ]);
    expect(pairs[1]).toMatchObject({ a: { name: 'Ann', number: 1 }, b: { name: 'Bob', number: 3 } });
  });

  it('deals pairs round-robin into 10 folds without a header or with a one-number header', () => {
    const lines = Array.from({ length: 12 }, (_, i) => `P${i} 1 2`).join('\n');
    for (const text of [lines, `6\n${lines}`]) {
      const { folds, pairs } = parsePairsFile(text);
      expect(folds).toBe(10);
      expect(pairs.map((pair) => pair.fold)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    }
  });

  it('rejects a header that does not match the lines and malformed lines', () => {
    expect(() => parsePairsFile('10\t300\nAnn 1 2\n')).toThrow(/promises 10 folds/);
    expect(() => parsePairsFile('Ann 1\n')).toThrow(/line 1/);
    expect(() => parsePairsFile('Ann x 2\n')).toThrow(/not an image number/);
  });
});

describe('accuracyAt', () => {
  it('accepts pairs strictly closer than the threshold and counts a pair without a face as wrong', () => {
    // At 0.5: genuine 0.2 right, genuine 0.5 rejected (wrong), impostor 0.9 rejected (right), no face wrong.
    expect(accuracyAt([genuine(0.2), genuine(0.5), impostor(0.9), genuine(null)], 0.5)).toBe(2 / 4);
    // An impostor at exactly the threshold is rejected.
    expect(accuracyAt([impostor(0.5)], 0.5)).toBe(1);
  });
});

describe('bestThreshold', () => {
  it('splits separable distances at the midpoint of the gap', () => {
    const result = bestThreshold([genuine(0.1), genuine(0.3), impostor(0.7), impostor(0.9)]);
    expect(result).toEqual({ threshold: 0.5, accuracy: 1 });
  });

  it('finds the best trade-off when genuine and impostor distances overlap', () => {
    // Sorted: g.1 g.2 i.3 g.4 g.5 i.6 i.7. Threshold 0.55 gets all but i.3 right (6/7); 0.25 gets 5/7.
    const pairs = [0.1, 0.2, 0.4, 0.5].map((d) => genuine(d)).concat([0.3, 0.6, 0.7].map((d) => impostor(d)));
    const result = bestThreshold(pairs);
    expect(result.threshold).toBeCloseTo(0.55, 10);
    expect(result.accuracy).toBeCloseTo(6 / 7, 10);
  });

  it('breaks ties towards the stricter threshold', () => {
    // g.1 i.2 g.3 i.4: thresholds 0.15 and 0.35 both get 3 of 4 right.
    const result = bestThreshold([genuine(0.1), impostor(0.2), genuine(0.3), impostor(0.4)]);
    expect(result.threshold).toBeCloseTo(0.15, 10);
    expect(result.accuracy).toBe(3 / 4);
  });

  it('can reject everything when every pair is an impostor', () => {
    const result = bestThreshold([impostor(0.2), impostor(0.4)]);
    expect(result.threshold).toBeLessThan(0.2);
    expect(result.accuracy).toBe(1);
  });
});

describe('foldedAccuracy', () => {
  it('judges each fold with the threshold learnt on the others', () => {
    // Held out fold 2: folds 0+1 put the threshold at 0.575, which rejects fold 2's genuine pair at 0.6.
    // Held out fold 0 (threshold 0.675 from 1+2) and fold 1 (0.7 from 0+2): both judged right.
    const pairs = [
      genuine(0.2, 0),
      impostor(0.8, 0),
      genuine(0.4, 1),
      impostor(0.75, 1),
      genuine(0.6, 2),
      impostor(0.9, 2),
    ];
    const result = foldedAccuracy(pairs);
    expect(result.folds.map((fold) => fold.accuracy)).toEqual([1, 1, 0.5]);
    const thresholds = result.folds.map((fold) => fold.threshold);
    [0.675, 0.7, 0.575].forEach((threshold, fold) => expect(thresholds[fold]).toBeCloseTo(threshold, 10));
    expect(result.mean).toBeCloseTo(2.5 / 3, 10);
    // Population std of [1, 1, 0.5]: mean 5/6, deviations 1/6, 1/6, -1/3 -> sqrt((1/36+1/36+1/9)/3).
    expect(result.std).toBeCloseTo(Math.sqrt(1 / 18), 10);
  });

  it('counts pairs without a face as errors in their fold', () => {
    const pairs = [genuine(0.1, 0), impostor(0.9, 0), genuine(0.1, 1), impostor(0.9, 1), genuine(null, 1)];
    const result = foldedAccuracy(pairs);
    expect(result.folds.map((fold) => fold.accuracy)).toEqual([1, 2 / 3]);
  });

  it('needs two folds', () => {
    expect(() => foldedAccuracy([genuine(0.1, 0), impostor(0.9, 0)])).toThrow(/two folds/);
  });
});

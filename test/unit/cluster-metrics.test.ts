import { describe, expect, it } from 'vitest';
import { bcubedScores, pairAgreement, pairwiseScores } from '../../src/services/clustering/cluster-metrics.js';

describe('pairwiseScores', () => {
  it('is perfect when clusters are the identities', () => {
    expect(pairwiseScores([1, 1, 2, 3], ['a', 'a', 'b', 'c'])).toEqual({ precision: 1, recall: 1, f1: 1 });
  });

  it('counts a merge of two people as lost precision and a split as lost recall', () => {
    // a,a,b in one cluster: 3 predicted pairs, 1 true.
    expect(pairwiseScores([1, 1, 1], ['a', 'a', 'b'])).toEqual({ precision: 0.3333, recall: 1, f1: 0.5 });
    // a,a,a split 2 + 1: 1 of 3 true pairs found.
    expect(pairwiseScores([1, 1, 2], ['a', 'a', 'a'])).toEqual({ precision: 1, recall: 0.3333, f1: 0.5 });
  });
});

describe('bcubedScores', () => {
  it('averages per item', () => {
    // items: a1 a2 in cluster 1 with b1; b2 alone.
    const scores = bcubedScores([1, 1, 1, 2], ['a', 'a', 'b', 'b']);
    // precision: a1 2/3, a2 2/3, b1 1/3, b2 1 -> 0.6667; recall: a1 1, a2 1, b1 1/2, b2 1/2 -> 0.75
    expect(scores.precision).toBeCloseTo(0.6667, 4);
    expect(scores.recall).toBeCloseTo(0.75, 4);
  });
});

describe('pairAgreement', () => {
  it('is 1 for the same grouping under other labels and counts pairs that differ', () => {
    expect(pairAgreement([1, 1, 2], ['x', 'x', 'y'])).toBe(1);
    // pairs: (0,1) together in a, apart in b; (0,2),(1,2) apart in both -> 2 of 3 agree.
    expect(pairAgreement([1, 1, 2], [1, 2, 3])).toBe(0.6667);
  });
});

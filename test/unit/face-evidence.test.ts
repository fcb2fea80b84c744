import { describe, expect, it } from 'vitest';
import {
  distanceAtFalseMatchRate,
  distanceWithSamePersonBeyond,
  falseMatchRate,
  fitFaceEvidence,
  normalCdf,
  normalQuantile,
  samePersonBeyond,
} from '../../src/services/rules/face-evidence.js';
import { seededRandom } from '../../src/eval/seeded-random.js';
import { TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';

describe('face evidence', () => {
  it('computes far normal tails to a small relative error', () => {
    // Reference values of the standard normal distribution.
    const reference: [number, number][] = [
      [0, 0.5],
      [-1, 0.15865525393],
      [-3, 1.3498980316e-3],
      [-5, 2.8665157187e-7],
      [-7, 1.2798125438e-12],
      [2, 0.97724986805],
    ];
    for (const [z, p] of reference) expect(Math.abs(normalCdf(z) - p) / p).toBeLessThan(2e-6);
    for (const p of [1e-12, 1e-7, 1e-3, 0.02, 0.3, 0.5, 0.9, 0.999])
      expect(Math.abs(normalCdf(normalQuantile(p)) - p) / p).toBeLessThan(1e-5);
  });

  it('turns distances into rates and back', () => {
    const { calibration } = TEST_IDENTITY_POLICY;
    for (const fmr of [1e-9, 1e-6, 1e-4])
      expect(falseMatchRate(calibration, distanceAtFalseMatchRate(calibration, fmr)) / fmr).toBeCloseTo(1, 4);
    expect(samePersonBeyond(calibration, distanceWithSamePersonBeyond(calibration, 1e-3))).toBeCloseTo(1e-3, 6);
    // Closer is rarer for strangers; farther is rarer for one person.
    expect(falseMatchRate(calibration, 0.3)).toBeLessThan(falseMatchRate(calibration, 0.4));
    expect(samePersonBeyond(calibration, 0.8)).toBeLessThan(samePersonBeyond(calibration, 0.6));
    // A population whose strangers come closer (populationFactor) makes every match weaker evidence.
    const closer = { ...calibration, populationFactor: 9 };
    expect(falseMatchRate(closer, 0.4)).toBeCloseTo(9 * falseMatchRate(calibration, 0.4), 12);
    expect(distanceAtFalseMatchRate(closer, 1e-6)).toBeLessThan(distanceAtFalseMatchRate(calibration, 1e-6));
  });

  it('fits each tail through its quantiles', () => {
    const random = seededRandom(3);
    const gaussian = (mean: number, sd: number) =>
      mean + sd * Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
    const strangers = Array.from({ length: 200_000 }, () => gaussian(0.9, 0.08));
    const same = Array.from({ length: 5_000 }, () => gaussian(0.4, 0.07));
    const fitted = fitFaceEvidence(same, strangers, 'synthetic');
    expect(fitted.strangers.mean).toBeCloseTo(0.9, 1);
    expect(fitted.strangers.sd).toBeCloseTo(0.08, 2);
    expect(fitted.samePerson.mean).toBeCloseTo(0.4, 1);
    expect(fitted.samePerson.sd).toBeCloseTo(0.07, 2);
    expect(() => fitFaceEvidence(same.slice(0, 5), strangers, 'too few')).toThrow(/too few labelled pairs/);
  });
});

/**
 * How much a face distance says, measured rather than assumed: the share of stranger pairs that come this close
 * (the false-match rate, FMR) and the share of same-person pairs that lie this far apart. Both come from a
 * calibration on labelled photos (`models/manifest.json`, written by `simsift eval --calibrate-evidence`).
 *
 * Tails are where the rules live (a 1-in-100,000 coincidence, a same-person pair farther apart than 99% of
 * them) and a few thousand labelled pairs cannot count that far, so each tail is a normal distribution fitted
 * through two measured quantiles of that tail, not through the mean: the body of the distribution does not
 * describe its tail.
 */
export interface FaceEvidenceCalibration {
  /** Normal fitted to the lower tail of stranger distances. */
  strangers: { mean: number; sd: number };
  /** Normal fitted to the upper tail of same-person distances. */
  samePerson: { mean: number; sd: number };
  /**
   * The stranger rate measured on this calibration set is multiplied by this for the population served.
   * Distances for some demographics are shorter for everyone: on held-out Indian faces the FMR at 0.5 was
   * about 9 times the LFW figure. 1 means "as calibrated".
   */
  populationFactor: number;
  /** Where the figures come from, for the analyst and the README. */
  measuredOn: string;
}

/**
 * Standard normal cumulative distribution, through the complementary error function of Numerical Recipes
 * (erfcc: relative error below 1.2e-7 everywhere). The rules read far tails (1e-7 and below), where an
 * approximation with a bounded absolute error would be all error.
 */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.5 * a);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(-a * a + poly);
  return 0.5 * (x >= 0 ? erfc : 2 - erfc);
}

/** Inverse of {@link normalCdf} (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`quantile of ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/** Share of stranger pairs closer than `distance`: the false-match rate a match at this distance carries. */
export function falseMatchRate(calibration: FaceEvidenceCalibration, distance: number): number {
  const { mean, sd } = calibration.strangers;
  return Math.min(1, normalCdf((distance - mean) / sd) * calibration.populationFactor);
}

/** Share of same-person pairs farther apart than `distance`: how often one person's photos differ this much. */
export function samePersonBeyond(calibration: FaceEvidenceCalibration, distance: number): number {
  const { mean, sd } = calibration.samePerson;
  return 1 - normalCdf((distance - mean) / sd);
}

/** The distance at which the false-match rate is `fmr` (the inverse of {@link falseMatchRate}). */
export function distanceAtFalseMatchRate(calibration: FaceEvidenceCalibration, fmr: number): number {
  const { mean, sd } = calibration.strangers;
  return mean + sd * normalQuantile(Math.min(0.5, fmr / calibration.populationFactor));
}

/** The distance beyond which only `share` of same-person pairs lie. */
export function distanceWithSamePersonBeyond(calibration: FaceEvidenceCalibration, share: number): number {
  const { mean, sd } = calibration.samePerson;
  return mean + sd * normalQuantile(1 - share);
}

/**
 * Fits the calibration from labelled distances. The stranger tail is the normal through the stranger
 * quantiles at `strangerQuantiles` (default 1e-3 and 1e-2), the same-person tail the normal through the
 * same-person quantiles at `samePersonQuantiles` (0.90 and 0.95: above those, a few outlier photos of one person, or a mislabelled one, would decide the fit).
 */
export function fitFaceEvidence(
  genuine: readonly number[],
  impostor: readonly number[],
  measuredOn: string,
  options: { strangerQuantiles?: [number, number]; samePersonQuantiles?: [number, number] } = {},
): FaceEvidenceCalibration {
  const fit = (values: readonly number[], [p1, p2]: [number, number]) => {
    const sorted = [...values].sort((x, y) => x - y);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
    const z1 = normalQuantile(p1);
    const z2 = normalQuantile(p2);
    const sd = (at(p2) - at(p1)) / (z2 - z1);
    return { mean: round(at(p1) - z1 * sd), sd: round(sd) };
  };
  if (genuine.length < 20 || impostor.length < 1000) {
    throw new Error(
      `too few labelled pairs to calibrate (${genuine.length} same-person, ${impostor.length} strangers)`,
    );
  }
  return {
    strangers: fit(impostor, options.strangerQuantiles ?? [1e-3, 1e-2]),
    samePerson: fit(genuine, options.samePersonQuantiles ?? [0.9, 0.95]),
    populationFactor: 1,
    measuredOn,
  };
}

function round(value: number): number {
  return Math.round(value * 100_000) / 100_000;
}

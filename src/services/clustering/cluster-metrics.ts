/**
 * Clustering quality against known identities. `clusterOf` and `identityOf` map each item to its cluster
 * and its true identity.
 */
export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

const f1 = (precision: number, recall: number) =>
  precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
const round = (value: number) => Math.round(value * 10_000) / 10_000;

function countBy<T>(items: readonly T[]): Map<T, number> {
  const counts = new Map<T, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

/** Over all pairs of items: same cluster (predicted) vs same identity (truth). */
export function pairwiseScores(
  clusterOf: readonly (string | number)[],
  identityOf: readonly string[],
): PrecisionRecall {
  const joint = countBy(clusterOf.map((c, i) => `${c}\u0000${identityOf[i]}`));
  let truePairs = 0;
  for (const n of joint.values()) truePairs += pairs(n);
  let predicted = 0;
  for (const n of countBy(clusterOf).values()) predicted += pairs(n);
  let actual = 0;
  for (const n of countBy(identityOf).values()) actual += pairs(n);
  const precision = predicted === 0 ? 1 : truePairs / predicted;
  const recall = actual === 0 ? 1 : truePairs / actual;
  return { precision: round(precision), recall: round(recall), f1: round(f1(precision, recall)) };
}

/** B-cubed: per item, the share of its cluster that shares its identity, and of its identity that shares its cluster. */
export function bcubedScores(clusterOf: readonly (string | number)[], identityOf: readonly string[]): PrecisionRecall {
  const joint = countBy(clusterOf.map((c, i) => `${c}\u0000${identityOf[i]}`));
  const clusterSize = countBy(clusterOf);
  const identitySize = countBy(identityOf);
  let precision = 0;
  let recall = 0;
  clusterOf.forEach((cluster, i) => {
    const together = joint.get(`${cluster}\u0000${identityOf[i]}`)!;
    precision += together / clusterSize.get(cluster)!;
    recall += together / identitySize.get(identityOf[i]!)!;
  });
  const n = Math.max(1, clusterOf.length);
  return { precision: round(precision / n), recall: round(recall / n), f1: round(f1(precision / n, recall / n)) };
}

/** Share of item pairs on which two clusterings agree (both together or both apart): the Rand index. */
export function pairAgreement(a: readonly (string | number)[], b: readonly (string | number)[]): number {
  const n = a.length;
  const total = pairs(n);
  if (total === 0) return 1;
  const together = (labels: readonly (string | number)[]) => {
    let sum = 0;
    for (const count of countBy(labels).values()) sum += pairs(count);
    return sum;
  };
  const both = together(a.map((x, i) => `${x}\u0000${b[i]}`));
  const agree = total - together(a) - together(b) + 2 * both;
  return round(agree / total);
}

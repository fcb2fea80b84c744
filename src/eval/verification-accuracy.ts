import { faceDistance } from '../services/face-distance.js';

/**
 * LFW-protocol verification accuracy: pairs of photos labelled same person or not, split into folds; for each
 * fold the distance threshold is chosen on the other folds and judged on the held-out one.
 */

/**
 * The distance of every pair of labelled faces, split into same-person (genuine) and stranger (impostor) pairs:
 * what verification rates and the rules' face evidence are measured from.
 */
export function labelledDistances(
  faces: readonly { embedding: Float32Array; identity: string }[],
  metric: 'euclidean' | 'cosine',
): { genuine: number[]; impostor: number[] } {
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) {
      const d = faceDistance(faces[i]!.embedding, faces[j]!.embedding, metric);
      (faces[i]!.identity === faces[j]!.identity ? genuine : impostor).push(d);
    }
  }
  return { genuine, impostor };
}

/** One side of a pair in a pairs file: a person's folder name and the image number. */
export interface PairImage {
  name: string;
  number: number;
}

/** A labelled pair from a pairs file, with the fold it belongs to. */
export interface LabelledPair {
  a: PairImage;
  b: PairImage;
  /** The two photos show the same person (a genuine pair). */
  same: boolean;
  fold: number;
}

/** A labelled pair after embedding: `distance` is null when either photo had no usable face. */
export interface ScoredPair {
  distance: number | null;
  same: boolean;
  fold: number;
}

export interface PairsFile {
  folds: number;
  pairs: LabelledPair[];
}

const DEFAULT_FOLDS = 10;

/**
 * Parses an LFW-style pairs.txt: an optional header `<folds>\t<n>` (n genuine then n impostor pairs per fold,
 * fold after fold), then lines `name n1 n2` (genuine) and `name1 n1 name2 n2` (impostor). Without a header
 * that names two or more folds (none, or LFW's one-number `pairsDevTrain.txt` header), the pairs are dealt
 * round-robin into 10 folds, so that each fold gets genuine and impostor pairs in the file's proportions.
 */
export function parsePairsFile(text: string): PairsFile {
  const lines = text
    .split(/\r?\n/)
    .map((line, i) => ({ fields: line.trim().split(/\s+/).filter(Boolean), lineNumber: i + 1 }))
    .filter((line) => line.fields.length > 0);
  let header: { folds: number; perFold: number } | null = null;
  const first = lines[0]?.fields;
  if (first && first.every((field) => /^\d+$/.test(field)) && first.length <= 2) {
    lines.shift();
    if (first.length === 2 && Number(first[0]) >= 2) header = { folds: Number(first[0]), perFold: Number(first[1]) };
  }
  const pairs = lines.map(({ fields, lineNumber }, i): LabelledPair => {
    const int = (value: string) => {
      if (!/^\d+$/.test(value)) throw new Error(`pairs file line ${lineNumber}: "${value}" is not an image number`);
      return Number(value);
    };
    const fold = header ? Math.floor(i / (2 * header.perFold)) : i % DEFAULT_FOLDS;
    if (fields.length === 3) {
      const [name, n1, n2] = fields as [string, string, string];
      return { a: { name, number: int(n1) }, b: { name, number: int(n2) }, same: true, fold };
    }
    if (fields.length === 4) {
      const [name1, n1, name2, n2] = fields as [string, string, string, string];
      return { a: { name: name1, number: int(n1) }, b: { name: name2, number: int(n2) }, same: false, fold };
    }
    throw new Error(`pairs file line ${lineNumber}: expected "name n1 n2" or "name1 n1 name2 n2"`);
  });
  if (header && pairs.length !== header.folds * 2 * header.perFold) {
    throw new Error(
      `pairs file header promises ${header.folds} folds of ${header.perFold} + ${header.perFold} pairs, ` +
        `but it has ${pairs.length} pairs`,
    );
  }
  return { folds: header?.folds ?? Math.min(DEFAULT_FOLDS, pairs.length), pairs };
}

/**
 * Share of pairs judged right when pairs closer than `threshold` are taken as the same person. A pair without
 * a distance (no face found) is always wrong: the system could not have matched it.
 */
export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) return NaN;
  let right = 0;
  for (const pair of pairs) {
    if (pair.distance !== null && pair.distance < threshold === pair.same) right++;
  }
  return right / pairs.length;
}

/**
 * The threshold with the highest accuracy on `pairs`: candidates are the midpoints between consecutive
 * distinct distances (and one below the smallest and above the largest). Ties go to the smallest threshold: the
 * stricter one, as a false match costs more than a missed one when it blocks a subscriber.
 */
export function bestThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  const scored = pairs.filter((pair) => pair.distance !== null) as { distance: number; same: boolean }[];
  scored.sort((x, y) => x.distance - y.distance);
  if (scored.length === 0) return { threshold: 0, accuracy: accuracyAt(pairs, 0) };
  // Sweep upwards: below every distance all pairs are rejected, so only impostors are right.
  let right = scored.filter((pair) => !pair.same).length;
  let best = { threshold: scored[0]!.distance - 1, right };
  for (let i = 0; i < scored.length; i++) {
    // Raising the threshold past scored[i] accepts it: right if genuine, wrong if impostor.
    right += scored[i]!.same ? 1 : -1;
    const next = scored[i + 1]?.distance;
    if (next === scored[i]!.distance) continue;
    const threshold = next === undefined ? scored[i]!.distance + 1 : (scored[i]!.distance + next) / 2;
    if (right > best.right) best = { threshold, right };
  }
  return { threshold: best.threshold, accuracy: best.right / pairs.length };
}

export interface FoldedAccuracy {
  /** Mean of the held-out folds' accuracies. */
  mean: number;
  /** Population standard deviation over folds (numpy's default, as in the usual LFW scripts). */
  std: number;
  /** Per fold: the threshold chosen on the other folds and the accuracy it gave on this one. */
  folds: { fold: number; threshold: number; accuracy: number }[];
}

/**
 * K-fold verification accuracy (LFW "view 2"): for each fold, the best threshold on all the other folds is
 * applied to it. Folds without pairs are skipped. Pairs without a distance count as errors (see `accuracyAt`);
 * leave them out of `pairs` to measure accuracy on found faces only.
 */
export function foldedAccuracy(pairs: readonly ScoredPair[]): FoldedAccuracy {
  const foldIds = [...new Set(pairs.map((pair) => pair.fold))].sort((x, y) => x - y);
  if (foldIds.length < 2) throw new Error('cross-validated accuracy needs pairs in at least two folds');
  const folds = foldIds.map((fold) => {
    const { threshold } = bestThreshold(pairs.filter((pair) => pair.fold !== fold));
    return {
      fold,
      threshold,
      accuracy: accuracyAt(
        pairs.filter((pair) => pair.fold === fold),
        threshold,
      ),
    };
  });
  const mean = folds.reduce((sum, fold) => sum + fold.accuracy, 0) / folds.length;
  const variance = folds.reduce((sum, fold) => sum + (fold.accuracy - mean) ** 2, 0) / folds.length;
  return { mean, std: Math.sqrt(variance), folds };
}

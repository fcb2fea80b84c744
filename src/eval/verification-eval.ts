import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import { FaceEngine, type EmbedderName } from '../repositories/face-engine/face-engine.repository.js';
import { UsearchIndex } from '../repositories/usearch-index.repository.js';
import { bcubedScores, pairAgreement, pairwiseScores } from '../services/clustering/cluster-metrics.js';
import { reclusterAll } from '../services/clustering/recluster.js';
import { ExactIndex, FaceClusterer, type ClusterRules } from '../services/clustering/face-clusterer.js';
import { faceDistance, verificationAtFar } from '../services/face-distance.js';
import {
  foldedAccuracy,
  parsePairsFile,
  type FoldedAccuracy,
  type PairImage,
  type ScoredPair,
} from './verification-accuracy.js';
import { listPhotos, runPipelineOnFiles } from './in-process-pipeline.js';
import { fileExists } from '../file-exists.js';

export interface EvalOptions {
  dataset: string;
  limit?: number;
  embedder?: EmbedderName;
  /** Overrides of the clustering rules, for tuning. */
  pairThreshold?: number;
  averageThreshold?: number;
  minSupport?: number;
  /** An LFW-style pairs.txt whose images are under `dataset`: adds `lfw_accuracy` to the result. */
  pairs?: string;
}

/**
 * The accuracy evaluation. Every image of `<identity>/<image>` becomes its own subscriber with its own name and
 * document, so each identity with two or more images is a planted fraud ring and each single image a
 * distractor. Runs the real detector, embedder and clusterer in process and returns one JSON-ready object.
 */
export async function runEval(config: Config, options: EvalOptions) {
  const started = performance.now();
  const dataset = path.resolve(options.dataset);
  const files = (await listPhotos(dataset)).slice(0, options.limit ?? Infinity);
  if (files.length === 0) throw new Error(`no photos under ${dataset}`);
  const identityOfFile = (file: string) => path.relative(dataset, file).split(path.sep)[0]!;
  const engine = await FaceEngine.create({
    embedder: options.embedder ?? config.faces.embedder,
    allowCpuBackend: config.faces.allowCpuBackend,
  });
  const cacheDir = path.join(config.dataDir, 'eval-cache');
  const results = await runPipelineOnFiles(files, engine, config, {
    cacheDir,
    onProgress: (done) => {
      if (done % 100 === 0) process.stderr.write(`eval: ${done}/${files.length} photos\n`);
    },
  });
  const faces = results.filter((result) => result.embedding);
  const identities = faces.map((face) => identityOfFile(face.file));
  const vectors = faces.map((face) => face.embedding!);

  const { metric, samePersonThreshold } = engine.embedder;
  const rules: ClusterRules = {
    metric,
    pairThreshold: options.pairThreshold ?? samePersonThreshold,
    averageThreshold: options.averageThreshold ?? samePersonThreshold * config.clustering.averageThresholdFactor,
    minSupport: options.minSupport ?? config.clustering.minSupport,
    neighbours: config.clustering.neighbours,
  };
  // The production index (HNSW); the batch recluster below scans exactly, as a cross-check.
  const clusterer = new FaceClusterer(new UsearchIndex(metric, engine.embedder.length), rules);
  vectors.forEach((vector, i) => clusterer.add(i, vector));
  const clusterOf = vectors.map((_, i) => clusterer.clusterIdOf(i)!);
  const batch = reclusterAll(
    vectors.map((vector, i) => ({ faceId: i, vector })),
    new ExactIndex(metric),
    rules,
  );
  const batchClusterOf = new Array<number>(vectors.length);
  batch.forEach((list, clusterIndex) => list.forEach((i) => (batchClusterOf[i] = clusterIndex)));

  // Single linkage at the same pair threshold, the rule that chains look-alikes: the baseline to beat.
  const parent = vectors.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < vectors.length; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      const d = faceDistance(vectors[i]!, vectors[j]!, metric);
      (identities[i] === identities[j] ? genuine : impostor).push(d);
      if (d < rules.pairThreshold) parent[find(i)] = find(j);
    }
  }
  const singleLinkage = vectors.map((_, i) => find(i));

  // Every image is its own identity document and name, so any cluster of two or more faces holds different
  // identities: MULTI_IDENTITY_FACE flags it.
  const members = new Map<number, number[]>();
  clusterOf.forEach((cluster, i) => members.set(cluster, [...(members.get(cluster) ?? []), i]));
  const flagged = [...members.values()].filter((list) => list.length >= 2);
  let flaggedPairs = 0;
  let flaggedTruePairs = 0;
  for (const list of flagged) {
    for (let a = 0; a < list.length; a++) {
      for (let b = a + 1; b < list.length; b++) {
        flaggedPairs++;
        if (identities[list[a]!] === identities[list[b]!]) flaggedTruePairs++;
      }
    }
  }
  const facesPerIdentity = new Map<string, number>();
  for (const identity of identities) facesPerIdentity.set(identity, (facesPerIdentity.get(identity) ?? 0) + 1);
  const rings = [...facesPerIdentity].filter(([, n]) => n >= 2).map(([identity]) => identity);
  const caught = rings.filter((identity) =>
    flagged.some((list) => list.filter((i) => identities[i] === identity).length >= 2),
  );
  const atFar = verificationAtFar(genuine, impostor, [1e-2, 1e-3, 1e-4]);
  const round = (value: number) => Math.round(value * 10_000) / 10_000;

  let lfwAccuracy: Record<string, unknown> | undefined;
  if (options.pairs) {
    // The pairs' photos go through the pipeline on their own (they need not be among --limit's first photos);
    // the cache makes the ones already embedded above free.
    const { folds, pairs } = parsePairsFile(await readFile(options.pairs, 'utf8'));
    const fileOf = await resolvePairImages(
      dataset,
      pairs.flatMap((pair) => [pair.a, pair.b]),
    );
    const pairFiles = [...new Set(fileOf.values())];
    const pairResults = await runPipelineOnFiles(pairFiles, engine, config, { cacheDir });
    const embeddingOf = new Map(pairResults.map((result) => [result.file, result.embedding]));
    const scored: ScoredPair[] = pairs.map((pair) => {
      const a = embeddingOf.get(fileOf.get(imageKey(pair.a))!);
      const b = embeddingOf.get(fileOf.get(imageKey(pair.b))!);
      return { distance: a && b ? faceDistance(a, b, metric) : null, same: pair.same, fold: pair.fold };
    });
    const summary = (result: FoldedAccuracy) => ({ mean: round(result.mean), std: round(result.std) });
    const all = foldedAccuracy(scored);
    const found = foldedAccuracy(scored.filter((pair) => pair.distance !== null));
    const thresholds = all.folds.map((fold) => fold.threshold);
    lfwAccuracy = {
      // Headline figures count a pair with a photo without a usable face (none found, or below the quality
      // gates: any state but face_ready) as an error: a fraud check cannot match a face it did not embed.
      // `found_faces` leaves those pairs out, as many published LFW figures do.
      ...summary(all),
      found_faces: summary(found),
      folds,
      pairs: scored.length,
      pairs_without_face: scored.filter((pair) => pair.distance === null).length,
      photos_without_face: pairResults.filter((result) => !result.embedding).length,
      // Mean of the thresholds chosen for each fold on the other folds, and their spread.
      threshold: round(thresholds.reduce((sum, t) => sum + t, 0) / thresholds.length),
      threshold_range: [round(Math.min(...thresholds)), round(Math.max(...thresholds))],
    };
  }

  return {
    dataset,
    embedder: `${engine.embedder.name} (${engine.embedder.version})`,
    backend: engine.backend,
    images: files.length,
    faces: faces.length,
    no_face: results.filter((result) => result.state === 'no_face').length,
    not_embedded: Object.fromEntries(
      Object.entries(
        results
          .filter((result) => !result.embedding)
          .reduce<Record<string, number>>(
            (acc, result) => ((acc[result.state] = (acc[result.state] ?? 0) + 1), acc),
            {},
          ),
      ),
    ),
    identities: new Set(results.map((result) => identityOfFile(result.file))).size,
    clusters: members.size,
    rules: { ...rules, pairThreshold: round(rules.pairThreshold), averageThreshold: round(rules.averageThreshold) },
    pairwise: pairwiseScores(clusterOf, identities),
    bcubed: bcubedScores(clusterOf, identities),
    flagged: {
      clusters: flagged.length,
      pure_clusters: flagged.filter((list) => new Set(list.map((i) => identities[i])).size === 1).length,
      precision: flaggedPairs === 0 ? 1 : round(flaggedTruePairs / flaggedPairs),
      recall: rings.length === 0 ? 1 : round(caught.length / rings.length),
    },
    recluster: {
      clusters: batch.length,
      pairwise: pairwiseScores(batchClusterOf, identities),
      // How far the incremental clusters agree with the batch ones, over all pairs of faces.
      agreement_with_incremental: pairAgreement(clusterOf, batchClusterOf),
    },
    baseline_single_linkage: {
      clusters: new Set(singleLinkage).size,
      pairwise: pairwiseScores(singleLinkage, identities),
    },
    verification: {
      genuine_pairs: genuine.length,
      impostor_pairs: impostor.length,
      tar_at_far: Object.fromEntries(Object.entries(atFar).map(([far, v]) => [far, round(v.tar)])),
      threshold_at_far_1e3: round(atFar['0.001']!.threshold),
    },
    ...(lfwAccuracy ? { lfw_accuracy: lfwAccuracy } : {}),
    seconds: round((performance.now() - started) / 1000),
    cpus: os.availableParallelism(),
  };
}

const PAIR_IMAGE_EXTENSIONS = ['.jpg', '.png', '.jpeg', '.webp'];

function imageKey(image: PairImage): string {
  return `${image.name}\t${image.number}`;
}

/**
 * Finds each pair image under `dataset`: LFW's `<name>/<name>_<nnnn>.jpg` first, then `<name>/<n>.jpg`, each
 * with the other photo extensions. Throws listing the images it cannot find, since a wrong folder would
 * otherwise pass for a model that finds no faces.
 */
async function resolvePairImages(dataset: string, images: PairImage[]): Promise<Map<string, string>> {
  const fileOf = new Map<string, string>();
  const missing: string[] = [];
  for (const image of images) {
    const key = imageKey(image);
    if (fileOf.has(key)) continue;
    const stems = [`${image.name}_${String(image.number).padStart(4, '0')}`, String(image.number)];
    const candidates = stems.flatMap((stem) =>
      PAIR_IMAGE_EXTENSIONS.map((ext) => path.join(dataset, image.name, stem + ext)),
    );
    let found: string | undefined;
    for (const candidate of candidates) {
      if (await fileExists(candidate)) {
        found = candidate;
        break;
      }
    }
    if (found) fileOf.set(key, found);
    else missing.push(`${image.name} ${image.number}`);
  }
  if (missing.length > 0) {
    throw new Error(
      `${missing.length} pair images not found under ${dataset} (as <name>/<name>_<nnnn>.jpg or <name>/<n>.jpg, ` +
        `also .png/.jpeg/.webp): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
    );
  }
  return fileOf;
}

/**
 * What every cluster bench sets up the same way: the clusterer's rules, the built-in face statistics its faces
 * are drawn from, and the embedder's face evidence for the identity policy.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../../src/config.js';
import { readModelManifest } from '../../../src/repositories/face-engine/model-manifest.js';
import type { ClusterRules } from '../../../src/services/clustering/face-clusterer.js';
import type { FaceStatistics } from '../face-generator.js';

/** The cluster benches' pair threshold (euclidean, face_recognition descriptors). */
export const BENCH_PAIR_THRESHOLD = 0.5;

const BUILT_IN_STATISTICS = fileURLToPath(new URL('../face-statistics.json', import.meta.url));

/** The cluster worker's rules as configured, at the benches' pair threshold. */
export function benchClusterRules(config: Config): ClusterRules {
  return {
    metric: 'euclidean',
    pairThreshold: BENCH_PAIR_THRESHOLD,
    averageThreshold: BENCH_PAIR_THRESHOLD * config.clustering.averageThresholdFactor,
    minSupport: config.clustering.minSupport,
    neighbours: config.clustering.neighbours,
  };
}

/** The built-in statistics (scripts/bench/face-statistics.json), derived from the dev set's embeddings. */
export async function builtInStatistics(): Promise<FaceStatistics> {
  return JSON.parse(await readFile(BUILT_IN_STATISTICS, 'utf8')) as FaceStatistics;
}

/** The embedder's face evidence, as the worker configures its identity policy. */
export async function faceEvidenceOf(embedder: string) {
  const model = (await readModelManifest()).models.find((entry) => entry.name === embedder);
  if (!model?.faceEvidence) throw new Error(`models/manifest.json has no faceEvidence for ${embedder}`);
  return model.faceEvidence;
}

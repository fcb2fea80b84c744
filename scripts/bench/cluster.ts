/**
 * Cluster bench: `npm run -s bench -- cluster [--faces N] [--dataset DIR]`.
 *
 * Synthetic 128-d face descriptors that look like real ones: identity centres and within-person spread are drawn
 * per dimension from the statistics of face_recognition descriptors of real photos (the dev set's cached eval
 * embeddings when present, else built-in figures from it). Reports faces/s assigned by the real clusterer on the
 * usearch HNSW index, 1:N query latency, ANN recall against an exact scan, index rebuild speed and RSS.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { embeddingCacheDir, listPhotos } from '../../src/cli/in-process-pipeline.js';
import { readModelManifest } from '../../src/repositories/face-engine/model-manifest.js';
import { loadConfig } from '../../src/config.js';
import { UsearchIndex } from '../../src/repositories/usearch-index.repository.js';
import { pairwiseScores } from '../../src/services/clustering/cluster-metrics.js';
import { FaceClusterer } from '../../src/services/clustering/face-clusterer.js';
import { faceDistance } from '../../src/services/face-distance.js';

const DIMENSIONS = 128;
const log = (message: string) => process.stderr.write(`[bench cluster] ${message}\n`);

/** Deterministic normal deviates (mulberry32 + Box-Muller) so runs compare. */
function gaussian(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

interface Statistics {
  source: string;
  mean: Float32Array;
  between: Float32Array;
  within: Float32Array;
}

/** Per-dimension mean, spread of identity centres, and spread of faces around their identity's centre. */
async function realStatistics(dataset: string, cacheDir: string): Promise<Statistics | null> {
  let files: string[];
  try {
    files = await listPhotos(dataset);
  } catch {
    return null;
  }
  const byIdentity = new Map<string, Float32Array[]>();
  for (const file of files) {
    const sha = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    try {
      const cached = JSON.parse(await readFile(path.join(cacheDir, `${sha}.json`), 'utf8')) as {
        embedding: number[] | null;
      };
      if (!cached.embedding) continue;
      const identity = path.relative(dataset, file).split(path.sep)[0]!;
      byIdentity.set(identity, [...(byIdentity.get(identity) ?? []), Float32Array.from(cached.embedding)]);
    } catch {
      // not in the cache: run `simsift eval` on the dataset first
    }
  }
  const groups = [...byIdentity.values()].filter((faces) => faces.length >= 2);
  if (groups.length < 10) return null;
  const centres = groups.map((faces) => {
    const centre = new Float32Array(DIMENSIONS);
    for (const face of faces) face.forEach((v, d) => (centre[d]! += v / faces.length));
    return centre;
  });
  const mean = new Float32Array(DIMENSIONS);
  for (const centre of centres) centre.forEach((v, d) => (mean[d]! += v / centres.length));
  const between = new Float32Array(DIMENSIONS);
  for (const centre of centres) centre.forEach((v, d) => (between[d]! += (v - mean[d]!) ** 2 / centres.length));
  const within = new Float32Array(DIMENSIONS);
  let count = 0;
  groups.forEach((faces, g) => {
    for (const face of faces) {
      face.forEach((v, d) => (within[d]! += (v - centres[g]![d]!) ** 2));
      count++;
    }
  });
  return {
    source: `${dataset} (${groups.length} identities, ${count} faces)`,
    mean,
    between: between.map(Math.sqrt),
    within: within.map((v) => Math.sqrt(v / count)),
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

export async function run(argv: string[]): Promise<object> {
  const flag = (name: string, fallback: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
  };
  const total = Number(flag('--faces', '100000'));
  const dataset = path.resolve(flag('--dataset', '../shared/datasets/faces-dev'));
  const config = loadConfig();
  const model = (await readModelManifest()).models.find((entry) => entry.name === 'face_recognition')!;
  const cacheDir = embeddingCacheDir(path.join(config.dataDir, 'eval-cache'), {
    name: model.name,
    version: `${model.package}@${model.packageVersion}`,
  });
  const stats = await realStatistics(dataset, cacheDir);
  if (!stats)
    throw new Error(`no cached dev-set embeddings: run \`npm run simsift -- eval --dataset ${dataset}\` first`);
  log(`statistics from ${stats.source}`);

  // Identities with 1 face (70%) or 2-5 faces (30%), like a gallery of honest subscribers and a few rings.
  const random = gaussian(42);
  const vectors: Float32Array[] = [];
  const identities: string[] = [];
  for (let identity = 0; vectors.length < total; identity++) {
    const centre = stats.mean.map((m, d) => m + stats.between[d]! * random());
    const u = (random() + 4) / 8;
    const faces = u < 0.7 ? 1 : 2 + (Math.floor(Math.abs(random()) * 2) % 4);
    for (let f = 0; f < faces && vectors.length < total; f++) {
      vectors.push(centre.map((c, d) => c + stats.within[d]! * random()));
      identities.push(String(identity));
    }
  }
  const pairThreshold = 0.5;
  const rules = {
    metric: 'euclidean' as const,
    pairThreshold,
    averageThreshold: pairThreshold * config.clustering.averageThresholdFactor,
    minSupport: config.clustering.minSupport,
    neighbours: config.clustering.neighbours,
  };
  const rssStart = process.memoryUsage().rss;

  // Assignment: every face through the real clusterer on the HNSW index.
  const index = new UsearchIndex('euclidean', DIMENSIONS);
  const clusterer = new FaceClusterer(index, rules);
  const started = performance.now();
  let lastTenthStart = started;
  const tenth = Math.floor(total * 0.9);
  vectors.forEach((vector, i) => {
    if (i === tenth) lastTenthStart = performance.now();
    clusterer.add(i, vector);
    if ((i + 1) % 20_000 === 0) log(`${i + 1}/${total} faces assigned`);
  });
  const assignSeconds = (performance.now() - started) / 1000;
  const lastTenthRate = (total - tenth) / ((performance.now() - lastTenthStart) / 1000);

  // 1:N queries at full size.
  const latencies: number[] = [];
  for (let q = 0; q < 1000; q++) {
    const vector = vectors[(q * 7919) % total]!;
    const t = performance.now();
    index.search(vector, 32);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);

  // Recall@10 of the ANN index against an exact scan, on 100 queries.
  let found = 0;
  let wanted = 0;
  for (let q = 0; q < 100; q++) {
    const query = vectors[(q * 104_729) % total]!;
    const exact = vectors
      .map((v, i) => ({ i, d: faceDistance(query, v, 'euclidean') }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 10)
      .map((hit) => hit.i);
    const approximate = new Set(index.search(query, 10).map((hit) => hit.faceId));
    found += exact.filter((i) => approximate.has(i)).length;
    wanted += exact.length;
  }

  // Rebuild: the worker's start-up, adding every stored vector to a fresh index.
  const rebuildStarted = performance.now();
  const rebuilt = new UsearchIndex('euclidean', DIMENSIONS);
  vectors.forEach((vector, i) => rebuilt.add(i, vector));
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1000;

  const clusterOf = vectors.map((_, i) => clusterer.clusterIdOf(i)!);
  const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
  return {
    bench: 'cluster',
    faces: total,
    statistics: stats.source,
    index: 'usearch HNSW (connectivity 16, expansion add 128 / search 256)',
    assign: {
      seconds: round(assignSeconds),
      faces_per_s: round(total / assignSeconds, 0),
      faces_per_s_last_10pct: round(lastTenthRate, 0),
      target_faces_per_s_at_100k: 2000,
    },
    query_ms: {
      p50: round(percentile(latencies, 0.5), 3),
      p99: round(percentile(latencies, 0.99), 3),
      target_p99_at_1m: 10,
    },
    ann_recall_at_10: round(found / wanted, 4),
    rebuild: { seconds: round(rebuildSeconds), faces_per_s: round(total / rebuildSeconds, 0) },
    accuracy_on_synthetic: pairwiseScores(clusterOf, identities),
    rss_mb: { start: round(rssStart / 2 ** 20, 0), end: round(process.memoryUsage().rss / 2 ** 20, 0) },
  };
}

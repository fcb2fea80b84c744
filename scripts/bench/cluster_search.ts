/**
 * Cluster search bench: on a graph the cluster bench built and kept (`bench -- cluster ... --built-in-statistics
 * --keep-saved DIR`), without building it again (over an hour at 10M faces):
 * - `--restart`: the worker's start from the saved files, alone on the machine (the cluster bench measures it
 *   while its own process still lets go of the gallery it built): a private Postgres gets the saved faces' ids
 *   and clusters, then the service's start runs in a fresh process (cluster-restart-worker.ts);
 * - 1:N query latency and same-person partners found at each search breadth of `--expansion-search` (a list),
 *   the pairs ranked by one exact scan for all of them.
 *
 *   npm run -s bench -- cluster_search --saved DIR [--expansion-search 256,512] [--pairs 5000] [--restart]
 *
 * `--restart --expansion-search ''`: only the restart (minutes; the search part draws every identity again and
 * ranks the pairs by an exact scan: about 25 minutes at 10M faces, the first time: both are kept in DIR, as
 * identities.i32 and ranked-pairs-*.json, for the next run on the same graph).
 *
 * Each face's identity is drawn again from the covariance generator with the built-in statistics, the cluster
 * bench's with `--built-in-statistics`; the first preloaded faces' saved clusters must agree with it (checked).
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { createPool, migrate } from '../../src/repositories/database.js';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import {
  UsearchIndex,
  type UsearchIndexOptions,
  type UsearchIndexShape,
} from '../../src/repositories/usearch-index.repository.js';
import type { ClusterRules } from '../../src/services/clustering/face-clusterer.js';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';
import { covarianceFaceStream } from './face-generator.js';
import { collectGarbage, createBenchEnv, log, round } from './lib/env.js';
import { integerOption } from './lib/options.js';
import { partnersFound, queryLatency, rankedPairs } from './lib/graph-search.js';
import { measureRestartInChild } from './lib/restart-child.js';
import { storeFaces } from './lib/stored-faces.js';
import { benchClusterRules, builtInStatistics } from './lib/cluster-setup.js';

/** Faces whose saved cluster is checked against the regenerated identity (preloaded as identity + 1). */
const CHECKED_FACES = 1_000;

interface Options {
  saved: string;
  breadths: number[];
  pairs: number;
  restart: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      saved: { type: 'string' },
      'expansion-search': { type: 'string', default: '256' },
      pairs: { type: 'string', default: '5000' },
      restart: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (!values.saved) throw new Error('--saved DIR is required: a directory the cluster bench wrote with --keep-saved');
  // An empty list: only the restart.
  const breadths =
    values['expansion-search'] === ''
      ? []
      : values['expansion-search'].split(',').map((breadth) => integerOption('expansion-search', breadth, 1, 4096));
  const pairs = integerOption('pairs', values.pairs, 100, 20_000);
  return { saved: path.resolve(values.saved), breadths, pairs, restart: values.restart };
}

interface SavedMeta {
  shape: UsearchIndexShape;
  gallery: { faces: number; dimensions: number; facesPerPage: number };
}

export async function run(argv: string[]): Promise<object> {
  const options = parseOptions(argv);
  const indexFile = path.join(options.saved, 'index.usearch');
  const meta = JSON.parse(await readFile(`${indexFile}.json`, 'utf8')) as SavedMeta;
  const { connectivity, expansionAdd, quantization, dimensions } = meta.shape;
  const indexOptions = (expansionSearch: number) => ({ connectivity, expansionAdd, expansionSearch, quantization });
  const config = loadConfig(process.env, { secret: 'ephemeral' });
  const rules = benchClusterRules(config);

  // First the restart, while this process holds nothing.
  const restart = options.restart
    ? await measureRestart(indexFile, meta, indexOptions(options.breadths[0] ?? 256), rules)
    : null;
  if (options.breadths.length === 0) return { bench: 'cluster_search', index: meta.shape, restart };

  let index: UsearchIndex | undefined;
  const createIndex = () => (index = new UsearchIndex('euclidean', dimensions, indexOptions(options.breadths[0]!)));
  const started = performance.now();
  const gallery = await loadGallery(new UsearchIndexFile(indexFile, createIndex), indexFile, dimensions);
  const total = gallery.size;
  log(`loaded ${total} faces in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const identities = await identitiesOf(options.saved, total);
  for (let faceId = 0; faceId < Math.min(total, CHECKED_FACES); faceId++) {
    if (gallery.clusterOf(faceId) !== identities[faceId]! + 1) {
      throw new Error(
        `face ${faceId}: saved in cluster ${gallery.clusterOf(faceId)}, the generator says identity ${identities[faceId]}` +
          ': the graph was not built by the cluster bench with --built-in-statistics and --preload',
      );
    }
  }
  const vectorOf = (faceId: number) => gallery.vectorOf(faceId)!;
  const ranked = await cachedJson(
    path.join(options.saved, `ranked-pairs-${total}-${options.pairs}-${rules.pairThreshold}-${rules.neighbours}.json`),
    () => {
      log(`ranking ${options.pairs} same-person pairs by an exact scan`);
      return rankedPairs(
        () => gallery.savedPages(),
        vectorOf,
        identities,
        rules.pairThreshold,
        rules.neighbours,
        options.pairs,
      );
    },
  );

  const share = (found: number, of: number) => round(found / Math.max(1, of), 4);
  const byBreadth = [];
  for (const [i, breadth] of options.breadths.entries()) {
    if (i > 0) {
      // The graph searched before is freed first: two at 10M faces do not fit beside the gallery.
      index = undefined;
      await collectGarbage();
      index = new UsearchIndex('euclidean', dimensions, indexOptions(breadth));
      index.load(indexFile);
    }
    const latency = queryLatency(index!, vectorOf, total);
    const partners = partnersFound(index!, ranked, vectorOf, rules.neighbours);
    const partnersOfExact = share(partners.foundInReach, partners.inExactReach);
    // The same graph asked for more hits, re-scored exactly and cut back (see partnersFound).
    const rescored = [1.5, 2, 4].map((factor) => {
      const fetched = Math.round(rules.neighbours * factor);
      const found = partnersFound(index!, ranked, vectorOf, rules.neighbours, fetched);
      return { fetched, found_of_exact: share(found.foundInReach, found.inExactReach) };
    });
    log(`breadth ${breadth}, more hits re-scored: ${JSON.stringify(rescored)}`);
    log(`breadth ${breadth}: p99 ${latency.p99.toFixed(2)} ms, partners ${partnersOfExact}`);
    byBreadth.push({
      expansion_search: breadth,
      query_ms: { p50: round(latency.p50, 3), p99: round(latency.p99, 3) },
      ann_recall_within_pair_threshold: {
        recall: share(partners.found, partners.ranked),
        same_person_pairs: partners.ranked,
        same_person_pairs_in_gallery: partners.pairs,
        partner_in_exact_top_k: share(partners.inExactReach, partners.ranked),
        ann_found_of_those: partnersOfExact,
        more_hits_rescored_exactly: rescored,
      },
      targets: {
        query_p99_ms: { value: round(latency.p99, 3), target: 10, pass: latency.p99 < 10 },
        partners_found_of_exact: { value: partnersOfExact, target: 0.99, pass: partnersOfExact >= 0.99 },
      },
    });
  }
  return { bench: 'cluster_search', faces: total, index: meta.shape, restart, by_breadth: byBreadth };
}

/**
 * Each saved face's identity, drawn again from the generator (about 10 minutes at 10M faces, on one core) and
 * kept in DIR/identities.i32 for the next run on the same graph.
 */
async function identitiesOf(saved: string, total: number): Promise<Int32Array> {
  const file = path.join(saved, 'identities.i32');
  const kept = await readFile(file).catch(() => null);
  if (kept?.length === total * 4) return new Int32Array(kept.buffer, kept.byteOffset, total);
  log('drawing every identity again');
  const faceStream = covarianceFaceStream({ ...(await builtInStatistics()), faceSpread: 0 });
  const identities = new Int32Array(total);
  for (let faceId = 0; faceId < total; faceId++) identities[faceId] = faceStream.next().value.identity;
  await writeFile(file, identities);
  return identities;
}

/** `compute()`, kept in `file` as JSON: the exact ranking of pairs takes about 6 minutes per 1,000 at 10M faces. */
async function cachedJson<T>(file: string, compute: () => T): Promise<T> {
  const kept = await readFile(file, 'utf8').catch(() => null);
  if (kept !== null) return JSON.parse(kept) as T;
  const value = compute();
  await writeFile(file, JSON.stringify(value));
  return value;
}

/** The saved pair, checked as a start checks it; the gallery as a store (the index is the file's own). */
async function loadGallery(file: UsearchIndexFile, name: string, dimensions: number): Promise<FaceVectorStore> {
  const loaded = await file.load();
  if (!('index' in loaded) || !loaded.gallery) {
    throw new Error(`${name}: ${'unusable' in loaded ? loaded.unusable : loaded.galleryUnusable}`);
  }
  return FaceVectorStore.fromPages(loaded.gallery.pages, dimensions, loaded.gallery.facesPerPage);
}

/**
 * The worker's start from the saved files in a fresh process, against a private Postgres holding the saved
 * faces' ids and clusters (read from the gallery file's id and cluster columns only).
 */
async function measureRestart(
  indexFile: string,
  meta: SavedMeta,
  indexOptions: UsearchIndexOptions,
  rules: ClusterRules,
) {
  const { faces, dimensions, facesPerPage } = meta.gallery;
  const clusterOf = new Float64Array(faces);
  const handle = await open(`${indexFile}.gallery`, 'r');
  try {
    let position = 0;
    for (let from = 0; from < faces; from += facesPerPage) {
      const count = Math.min(facesPerPage, faces - from);
      const ids = new Float64Array(count);
      const clusters = new Float64Array(count);
      await handle.read(new Uint8Array(ids.buffer), 0, ids.byteLength, position);
      await handle.read(new Uint8Array(clusters.buffer), 0, clusters.byteLength, position + ids.byteLength);
      ids.forEach((faceId, i) => {
        if (faceId !== from + i) throw new Error(`the saved faces are not ids 0..${faces - 1} in order`);
        clusterOf[faceId] = clusters[i]!;
      });
      position += count * (16 + 4 * dimensions);
    }
  } finally {
    await handle.close();
  }
  const env = await createBenchEnv('cluster-search');
  try {
    await migrate(env.databaseUrl);
    const pool = createPool(env.databaseUrl, 2);
    try {
      await storeFaces(pool, 0, faces, (faceId) => clusterOf[faceId]!, log);
    } finally {
      await pool.end();
    }
    const measured = await measureRestartInChild({
      databaseUrl: env.databaseUrl,
      embedder: 'face_recognition',
      indexFile,
      total: faces,
      dimensions,
      indexOptions,
      rules,
    });
    const seconds = measured.loadSeconds + measured.restoreSeconds;
    return {
      load_seconds: round(measured.loadSeconds, 2),
      restore_seconds: round(measured.restoreSeconds, 2),
      seconds: round(seconds, 2),
      cpu_seconds: round(measured.cpuSeconds, 2),
      rss_mb_of_restarted_process: Math.round(measured.rss / 2 ** 20),
      timings: measured.timings,
      target_s: 60,
      pass: seconds < 60,
    };
  } finally {
    await env.cleanup();
  }
}

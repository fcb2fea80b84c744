/**
 * Cluster bench: `npm run -s bench -- cluster [--faces N] [--dataset DIR] [--generator covariance|independent]
 * [--connectivity C] [--expansion-add A] [--expansion-search S] [--quantization f32|f16|bf16|i8]`.
 *
 * Synthetic 128-d face descriptors that look like real ones (see face-generator.ts): identity centres and
 * within-person offsets drawn from the full covariances of face_recognition descriptors of real photos (the dev
 * set's cached eval embeddings when present, else the built-in face-statistics.json derived from them).
 * Reports CPU and wall time per face assigned by the real clusterer on the usearch HNSW index, 1:N query
 * latency, ANN recall against an exact scan, index rebuild speed (re-inserting every face, and loading a saved
 * index) and RSS. `--write-statistics FILE` writes the built-in statistics from the cached embeddings.
 *
 * Sized for 10M faces on one node (`--faces 10000000 --preload 9980000 --rebuild-faces 0`): faces are generated
 * a page at a time and kept only in the clusterer's store, so RSS is the gallery's, not the bench's. With
 * `--rebuild-faces 0` the full rebuild is measured by the preload itself (the same restore in pages of 10,000
 * into a fresh index) instead of a second gallery beside the first. `targets` judges the issue's 10M targets:
 * on the measured figure at 10M faces, else on a linear projection to 10M labelled as such. `--keep-saved DIR`
 * keeps the saved index and gallery in DIR, for `bench -- cluster_search` (other search breadths, same graph).
 * `--pairs N` (default 5,000): same-person pairs ranked by an exact scan, about 6 minutes per 1,000 at 10M faces.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { embeddingCacheDir, gateOf } from '../../src/eval/in-process-pipeline.js';
import { readModelManifest } from '../../src/repositories/face-engine/model-manifest.js';
import { loadConfig } from '../../src/config.js';
import {
  DEFAULT_INDEX_OPTIONS,
  GRAPH_SETTING_RANGES,
  INDEX_QUANTIZATIONS,
  UsearchIndex,
  type UsearchIndexOptions,
} from '../../src/repositories/usearch-index.repository.js';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { createPool, migrate } from '../../src/repositories/database.js';
import { collectGarbage, createBenchEnv } from './lib/env.js';
import { storeFaces } from './lib/stored-faces.js';
import { choiceOption, integerOption, numberOption } from './lib/options.js';
import { benchClusterRules, builtInStatistics } from './lib/cluster-setup.js';
import { measureRestartInChild } from './lib/restart-child.js';
import { partnersFound, queryLatency, rankedPairs } from './lib/graph-search.js';
import type { RestartMeasurement, RestartTask } from './cluster-restart-worker.js';
import { pairwiseScores } from '../../src/services/clustering/cluster-metrics.js';
import { FaceClusterer, type ClusterRules } from '../../src/services/clustering/face-clusterer.js';
import { faceDistance } from '../../src/services/face-distance.js';
import {
  compact,
  covarianceFaces,
  covarianceFaceStream,
  DIMENSIONS,
  distanceCheck,
  groupsOf,
  independentFaces,
  independentFaceStream,
  realStatistics,
  type FaceStatistics,
} from './face-generator.js';

const log = (message: string) => process.stderr.write(`[bench cluster] ${message}\n`);
/** Principal axes kept per covariance in the built-in statistics (75% of the variance lies in 20). */
const BUILT_IN_AXES = 32;

interface Options {
  total: number;
  dataset: string;
  statisticsOut: string;
  builtInStatistics: boolean;
  faceSpread: number;
  generator: 'covariance' | 'independent';
  indexOptions: UsearchIndexOptions;
  rankedPairCount: number;
  mode: 'batch' | 'single';
  preload: number;
  rebuildFaces: number;
  keptIn: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      faces: { type: 'string', default: '100000' },
      dataset: { type: 'string', default: '../shared/datasets/faces-dev' },
      'write-statistics': { type: 'string', default: '' },
      'built-in-statistics': { type: 'boolean', default: false },
      'face-spread': { type: 'string', default: '0' },
      generator: { type: 'string', default: 'covariance' },
      connectivity: { type: 'string', default: String(DEFAULT_INDEX_OPTIONS.connectivity) },
      'expansion-add': { type: 'string', default: String(DEFAULT_INDEX_OPTIONS.expansionAdd) },
      'expansion-search': { type: 'string', default: String(DEFAULT_INDEX_OPTIONS.expansionSearch) },
      quantization: { type: 'string', default: DEFAULT_INDEX_OPTIONS.quantization },
      pairs: { type: 'string', default: '5000' },
      mode: { type: 'string', default: 'batch' },
      preload: { type: 'string', default: '0' },
      'rebuild-faces': { type: 'string' },
      'keep-saved': { type: 'string', default: '' },
    },
    strict: true,
    allowPositionals: false,
  });
  const total = integerOption('faces', values.faces, 1, 100_000_000);
  const { connectivity, expansionAdd } = GRAPH_SETTING_RANGES;
  // --preload and --rebuild-faces past --faces mean all of them.
  const upToTotal = (name: 'preload' | 'rebuild-faces', raw: string) =>
    Math.min(total, integerOption(name, raw, 0, 100_000_000));
  return {
    total,
    dataset: path.resolve(values.dataset),
    statisticsOut: values['write-statistics'],
    builtInStatistics: values['built-in-statistics'],
    faceSpread: numberOption('face-spread', values['face-spread'], 0, 5),
    generator: choiceOption('generator', values.generator, ['covariance', 'independent']),
    // The graph settings a saved index may have (graphSettingsOf); the search breadth within the range the
    // service's config allows (SIMSIFT_CLUSTER_SEARCH_BREADTH).
    indexOptions: {
      connectivity: integerOption('connectivity', values.connectivity, connectivity.min, connectivity.max),
      expansionAdd: integerOption('expansion-add', values['expansion-add'], expansionAdd.min, expansionAdd.max),
      expansionSearch: integerOption('expansion-search', values['expansion-search'], 16, 4096),
      quantization: choiceOption('quantization', values.quantization, INDEX_QUANTIZATIONS),
    },
    rankedPairCount: integerOption('pairs', values.pairs, 1, 1_000_000),
    mode: choiceOption('mode', values.mode, ['batch', 'single']),
    preload: upToTotal('preload', values.preload),
    rebuildFaces: upToTotal('rebuild-faces', values['rebuild-faces'] ?? String(total)),
    keptIn: values['keep-saved'],
  };
}

export async function run(argv: string[]): Promise<object> {
  const options = parseOptions(argv);
  const { total, generator, indexOptions, rankedPairCount, mode, preload } = options;
  const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
  const share = ([found, wanted]: number[]) => round(found! / Math.max(1, wanted!), 4);
  const { dataset, statisticsOut } = options;
  const config = loadConfig(process.env, { secret: 'ephemeral' });
  const model = (await readModelManifest()).models.find((entry) => entry.name === 'face_recognition')!;
  const cacheDir = embeddingCacheDir(
    path.join(config.dataDir, 'eval-cache'),
    { name: model.name, version: `${model.package}@${model.packageVersion}` },
    gateOf(config.faces),
  );
  const measured = await realStatistics(dataset, cacheDir);
  if (statisticsOut) {
    if (!measured)
      throw new Error(`no cached dev-set embeddings: run \`npm run simsift -- eval --dataset ${dataset}\``);
    const built = compact(measured, BUILT_IN_AXES);
    await writeFile(
      statisticsOut,
      `${JSON.stringify({ ...built, source: `${built.source}, top ${BUILT_IN_AXES} axes` })}\n`,
    );
    return { wrote: statisticsOut, source: built.source };
  }
  const stats: FaceStatistics = {
    ...(measured && !options.builtInStatistics ? measured : await builtInStatistics()),
    faceSpread: options.faceSpread,
  };
  log(`statistics from ${stats.source}`);

  const faceStream = (generator === 'covariance' ? covarianceFaceStream : independentFaceStream)(stats);
  /** Each face's identity; an identity's faces are consecutive. */
  const identities = new Int32Array(total);
  const generate = (from: number, to: number) => {
    const page: { faceId: number; vector: Float32Array }[] = [];
    for (let faceId = from; faceId < to; faceId++) {
      const { vector, identity } = faceStream.next().value;
      identities[faceId] = identity;
      page.push({ faceId, vector });
    }
    return page;
  };
  const rules = benchClusterRules(config);
  const { pairThreshold } = rules;
  const rssStart = process.memoryUsage().rss;

  // Assignment: every face through the real clusterer on the HNSW index, in the cluster worker's pages.
  // `let`: both are dropped before the restart is measured, as a stopped worker's gallery would be.
  let index: UsearchIndex | undefined = new UsearchIndex('euclidean', DIMENSIONS, indexOptions);
  let clusterer: FaceClusterer | undefined = new FaceClusterer(index, rules);
  // --preload N: the first N faces go in as already clustered (restored, as after a restart, each identity one
  // cluster), so the assignment rate at a large gallery (1M) is measured without assigning every face first.
  // The preload is the worker's full rebuild (ClusterService.restoreAll without a saved index): restored in its
  // pages of 10,000 into a fresh index. Timed without the generator; RSS sampled at each tenth.
  let preloadSeconds = 0;
  let preloadLastTenth = { faces: 0, seconds: 0 };
  const rssDuringPreload: { faces: number; rss: number }[] = [];
  for (let from = 0; from < preload; from += REBUILD_PAGE) {
    const to = Math.min(preload, from + REBUILD_PAGE);
    const page = generate(from, to).map((face) => ({ ...face, clusterId: identities[face.faceId]! + 1 }));
    const t = performance.now();
    clusterer.restoreMany(page);
    const seconds = (performance.now() - t) / 1000;
    preloadSeconds += seconds;
    if (to > preload * 0.9) {
      preloadLastTenth = { faces: preloadLastTenth.faces + page.length, seconds: preloadLastTenth.seconds + seconds };
    }
    if (Math.floor(to / (preload / 10)) > Math.floor(from / (preload / 10))) {
      rssDuringPreload.push({ faces: to, rss: process.memoryUsage().rss });
      log(`${to}/${preload} preloaded`);
    }
  }
  // Each figure is logged as it is measured, not only in the JSON at the end: a 10M run takes two hours, and one
  // that dies at a later step (as session 15's did, out of memory) still leaves what it measured.
  if (preload > 0) {
    log(
      `preload (the full rebuild's inserts): ${preload} faces in ${round(preloadSeconds)} s timed, ` +
        `${round(preload / preloadSeconds, 0)} faces/s; RSS ${mb(process.memoryUsage().rss)} MB`,
    );
  }
  const assigned = total - preload;
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  let lastTenthStart = started;
  const tenth = preload + Math.floor(assigned * 0.9);
  for (let from = preload; from < total; from += PAGE) {
    if (from <= tenth && tenth < from + PAGE) lastTenthStart = performance.now();
    const page = generate(from, Math.min(total, from + PAGE));
    if (mode === 'batch') clusterer.addMany(page);
    else for (const face of page) clusterer.add(face.faceId, face.vector);
    if (Math.floor((from + PAGE) / 20_000) > Math.floor(from / 20_000))
      log(`${from + page.length}/${total} faces assigned`);
  }
  const assignSeconds = (performance.now() - started) / 1000;
  const assignCpu = cpuSeconds(process.cpuUsage(cpuStart));
  const lastTenthRate = (total - tenth) / ((performance.now() - lastTenthStart) / 1000);
  let rssMax = process.memoryUsage().rss;
  /** Everything stored and assigned, before the measurements below add their own buffers: the worker's RSS. */
  const rssGallery = rssMax;
  const vectorOf = (faceId: number) => clusterer!.vectorOf(faceId)!;

  // 1:N queries at full size (one at a time, as the API asks them).
  const latency = queryLatency(index, vectorOf, total);
  log(
    `1:N query at breadth ${indexOptions.expansionSearch}: p50 ${round(latency.p50, 3)} ms, p99 ${round(latency.p99, 3)} ms`,
  );

  // The ANN index against an exact scan, on 100 queries. Recall@10 alone undersells it on this data: beyond the
  // query's own identity its neighbours are near-equidistant strangers (10th within a few % of the 2nd), so a
  // hit at the same distance but another id counts as a miss. Hence also recall@10 counting any hit no farther
  // than the exact 10th (+1%), and the recall that matters to clustering (below).
  log('measuring recall against an exact scan');
  const recall = { at10: [0, 0], at10Tolerant: [0, 0], withinThreshold: [0, 0] };
  const distances = new Float64Array(total);
  for (let q = 0; q < 100; q++) {
    const queryId = (q * 104_729) % total;
    const query = vectorOf(queryId);
    for (let i = 0; i < total; i++) distances[i] = faceDistance(query, vectorOf(i), 'euclidean');
    const order = nearest(distances, Math.max(10, rules.neighbours));
    const exact10 = order.slice(0, 10);
    const approximate = index.search(query, 10);
    const got = new Set(approximate.map((hit) => hit.faceId));
    recall.at10[0]! += exact10.filter((i) => got.has(i)).length;
    recall.at10[1]! += exact10.length;
    const tenth = distances[exact10.at(-1)!]! * 1.01;
    // By exact distance: an i8 index's own are angles.
    recall.at10Tolerant[0]! += approximate.filter((hit) => distances[hit.faceId]! <= tenth).length;
    recall.at10Tolerant[1]! += exact10.length;
  }
  // Same-person pairs within the pair threshold: found by the graph, and by an exact scan (lib/graph-search.ts).
  // Through the `let`, not a const copy of it: a const would keep the whole gallery alive after it is dropped
  // below, and the restart's fresh process beside it ran out of memory at 10M faces.
  const partners = partnersFound(
    index,
    rankedPairs(() => clusterer!.savedPages(), vectorOf, identities, pairThreshold, rules.neighbours, rankedPairCount),
    vectorOf,
    rules.neighbours,
  );
  recall.withinThreshold = [partners.found, partners.ranked];
  log(`partners found: ${partners.foundInReach} of ${partners.inExactReach} in an exact scan's reach`);
  rssMax = Math.max(rssMax, process.memoryUsage().rss);

  // Rebuild: the worker's start-up (ClusterService.rebuild), every stored face restored into a fresh clusterer
  // and index, in its pages of 10,000. Capped by --rebuild-faces (the rate is steady; the rest is extrapolated).
  const { rebuildFaces } = options;
  const rebuild = rebuildFaces > 0 ? measureRebuild(clusterer, rules, indexOptions, rebuildFaces, mode) : null;
  rssMax = Math.max(rssMax, rebuild?.rss ?? 0);

  const clusterOf: number[] = [];
  for (let faceId = 0; faceId < total; faceId++) clusterOf.push(clusterer.clusterIdOf(faceId)!);
  const accuracy = pairwiseScores(clusterOf, Array.from(identities, String));
  const shape = index.shape;

  // Restart from a saved index (ClusterService.rebuild with an index file), in a fresh process as a worker's
  // (cluster-restart-worker.ts): the index and the gallery are saved, every face's id and cluster stored in a
  // private Postgres, and the gallery dropped as a stopped worker's is; then the service's own start loads the
  // files while it reads Postgres's ids and clusters, checks one against the other and adopts the gallery.
  const env = await createBenchEnv('cluster');
  let restart: RestartFigures;
  try {
    // --keep-saved DIR: the saved pair stays there, for cluster_search to search at other breadths.
    const { keptIn } = options;
    if (keptIn) await mkdir(keptIn, { recursive: true });
    const indexFile = path.join(keptIn ? path.resolve(keptIn) : env.rootDir, 'index.usearch');
    const saveStarted = performance.now();
    const fileBytes = await new UsearchIndexFile(
      indexFile,
      () => new UsearchIndex('euclidean', DIMENSIONS, indexOptions),
    ).save(
      index,
      { lastFaceId: total - 1, lastEventId: 0, faces: total },
      { ...clusterer.galleryShape, pages: [...clusterer.savedPages()] },
    );
    const saveSeconds = (performance.now() - saveStarted) / 1000;
    log(`saved ${mb(fileBytes)} MB in ${round(saveSeconds)} s`);
    await migrate(env.databaseUrl);
    const pool = createPool(env.databaseUrl, 2);
    try {
      await storeFaces(pool, 0, total, (faceId) => clusterer!.clusterIdOf(faceId)!, log);
    } finally {
      await pool.end();
    }
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    index = undefined;
    clusterer = undefined;
    // The restart runs in a fresh process, as a worker's would: collect the dropped gallery first, so the two
    // do not hold 2 x 12 GB at 10M faces.
    await collectGarbage();
    log(`gallery dropped: RSS ${mb(process.memoryUsage().rss)} MB`);
    const task: RestartTask = {
      databaseUrl: env.databaseUrl,
      embedder: 'face_recognition',
      indexFile,
      total,
      dimensions: DIMENSIONS,
      indexOptions,
      rules,
    };
    restart = { saveSeconds, fileBytes, ...(await measureRestartInChild(task)) };
    log(
      `restart: ${JSON.stringify({ load: restart.loadSeconds, restore: restart.restoreSeconds, ...restart.timings })}`,
    );
  } finally {
    await env.cleanup();
  }

  return {
    bench: 'cluster',
    faces: total,
    mode,
    generator,
    statistics: stats.source,
    generator_check: {
      synthetic_first_20k: distanceCheck(groupsOf(firstFaces(stats, generator, Math.min(total, 20_000)), 20_000)),
      real: stats.check,
    },
    index: { ...shape, expansionSearch: indexOptions.expansionSearch },
    assign: {
      preloaded: preload,
      faces: assigned,
      seconds: round(assignSeconds),
      cpu_seconds: round(assignCpu),
      cpu_ms_per_face: round((assignCpu * 1000) / assigned, 3),
      faces_per_s: round(assigned / assignSeconds, 0),
      faces_per_s_last_10pct: round(lastTenthRate, 0),
      page: PAGE,
      target_faces_per_s_at_100k: 2000,
    },
    query_ms: { p50: round(latency.p50, 3), p99: round(latency.p99, 3) },
    ann_recall_at_10: share(recall.at10),
    ann_recall_at_10_distance_tolerant: share(recall.at10Tolerant),
    ann_recall_within_pair_threshold: {
      recall: share(recall.withinThreshold),
      same_person_pairs: partners.ranked,
      same_person_pairs_in_gallery: partners.pairs,
      pairs_ranked_exactly: partners.ranked,
      partner_in_exact_top_k: share([partners.inExactReach, partners.ranked]),
      ann_found_of_those: share([partners.foundInReach, partners.inExactReach]),
    },
    rebuild_by_preload: {
      faces: preload,
      seconds: round(preloadSeconds),
      faces_per_s: round(preload / preloadSeconds, 0),
      faces_per_s_last_10pct: round(preloadLastTenth.faces / preloadLastTenth.seconds, 0),
    },
    ...(rebuild ? { rebuild: rebuild.figures } : {}),
    rebuild_from_saved_index: {
      save_seconds: round(restart.saveSeconds),
      load_seconds: round(restart.loadSeconds),
      restore_seconds: round(restart.restoreSeconds),
      cpu_seconds: round(restart.cpuSeconds),
      file_mb: round(restart.fileBytes / 2 ** 20, 0),
      rss_mb_of_restarted_process: round(restart.rss / 2 ** 20, 0),
      timings: restart.timings,
    },
    accuracy_on_synthetic: accuracy,
    rss_mb: {
      start: round(rssStart / 2 ** 20, 0),
      during_preload: rssDuringPreload.map(({ faces, rss }) => ({ faces, mb: round(rss / 2 ** 20, 0) })),
      gallery: round(rssGallery / 2 ** 20, 0),
      max_sampled: round(rssMax / 2 ** 20, 0),
      end: round(process.memoryUsage().rss / 2 ** 20, 0),
    },
    targets_at_10m: targetsAt10m({
      faces: total,
      rssStart,
      rssGallery,
      rssDuringPreload,
      queryP99: latency.p99,
      partnersFound: share([partners.foundInReach, partners.inExactReach]),
      restartSeconds: restart.loadSeconds + restart.restoreSeconds,
      rebuild: preload > 0 ? { faces: preload, seconds: preloadSeconds, lastTenth: preloadLastTenth } : null,
    }),
  };
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/** The cluster worker's page sizes (ClusterService). */
const PAGE = 500;
const REBUILD_PAGE = 10_000;

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}

/** Indices of the `k` smallest values, smallest first. */
function nearest(values: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === k && values[i]! >= values[best[k - 1]!]!) continue;
    let at = best.length === k ? k - 1 : best.length;
    if (best.length < k) best.push(i);
    while (at > 0 && values[best[at - 1]!]! > values[i]!) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = i;
  }
  return best;
}

/** The first faces of a generator, for its distance check (the same faces the gallery starts with). */
function firstFaces(stats: FaceStatistics, generator: 'covariance' | 'independent', count: number) {
  return (generator === 'covariance' ? covarianceFaces : independentFaces)(stats, count);
}

/**
 * The worker's start-up without a saved index (ClusterService.rebuild): the first `faces` stored faces restored
 * into a fresh clusterer and index, in its pages of 10,000. A second gallery beside the first: at 10M faces use
 * `--rebuild-faces 0` and read `rebuild_by_preload` instead.
 */
function measureRebuild(
  source: FaceClusterer,
  rules: ClusterRules,
  indexOptions: UsearchIndexOptions,
  faces: number,
  mode: 'batch' | 'single',
) {
  const rebuilt = new FaceClusterer(new UsearchIndex('euclidean', DIMENSIONS, indexOptions), rules);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  for (let from = 0; from < faces; from += REBUILD_PAGE) {
    const page: { faceId: number; vector: Float32Array; clusterId: number }[] = [];
    for (let faceId = from; faceId < Math.min(faces, from + REBUILD_PAGE); faceId++) {
      page.push({ faceId, vector: source.vectorOf(faceId)!, clusterId: source.clusterIdOf(faceId)! });
    }
    if (mode === 'batch') rebuilt.restoreMany(page);
    else for (const face of page) rebuilt.restore(face.faceId, face.vector, face.clusterId);
    if (Math.floor((from + REBUILD_PAGE) / 100_000) > Math.floor(from / 100_000)) {
      log(`${from + page.length}/${faces} faces restored`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    rss: process.memoryUsage().rss,
    figures: {
      faces,
      seconds: round2(seconds),
      cpu_seconds: round2(cpuSeconds(process.cpuUsage(cpuStart))),
      faces_per_s: Math.round(faces / seconds),
    },
  };
}

interface RestartFigures extends RestartMeasurement {
  saveSeconds: number;
  fileBytes: number;
}

const TEN_MILLION = 10_000_000;

/**
 * The issue's targets for 10M faces on one node. Below 10M faces, size-bound figures are projected linearly
 * from this run (memory, restart) and marked `projected`; the rebuild's projection uses the insert rate over
 * the preload's last tenth, which still falls as the graph grows (HNSW inserts cost ~log n), so it is a lower
 * bound. Query p99 and partners found are as measured here: both degrade slowly with size, so below 10M their
 * pass says only that this size meets the target.
 */
function targetsAt10m(measured: {
  faces: number;
  rssStart: number;
  rssGallery: number;
  rssDuringPreload: readonly { faces: number; rss: number }[];
  queryP99: number;
  partnersFound: number;
  restartSeconds: number;
  rebuild: { faces: number; seconds: number; lastTenth: { faces: number; seconds: number } } | null;
}) {
  const scale = TEN_MILLION / measured.faces;
  const projected = measured.faces < TEN_MILLION;
  const round4 = (value: number) => Math.round(value * 10_000) / 10_000;
  const judge = (value: number, target: number, below: boolean) => ({
    value: round4(value),
    target,
    pass: below ? value < target : value >= target,
  });
  // Bytes per added face from the preload's second half (the first pays for V8's heap and the first pages).
  const samples = measured.rssDuringPreload;
  const [middle, last] = [samples[Math.floor((samples.length - 1) / 2)], samples.at(-1)];
  const bytesPerFace =
    middle && last && last.faces > middle.faces
      ? (last.rss - middle.rss) / (last.faces - middle.faces)
      : (measured.rssGallery - measured.rssStart) / measured.faces;
  const rssBytes = measured.rssGallery + bytesPerFace * Math.max(0, TEN_MILLION - measured.faces);
  const rebuild = measured.rebuild;
  return {
    basis: projected ? `projected from ${measured.faces} faces` : 'measured',
    bytes_per_face: Math.round(bytesPerFace),
    rss_gb: { ...judge(rssBytes / 2 ** 30, 16, true), pass: rssBytes / 2 ** 30 <= 16 },
    query_p99_ms: { ...judge(measured.queryP99, 10, true), basis: `measured at ${measured.faces} faces` },
    partners_found_of_exact: { ...judge(measured.partnersFound, 0.99, false), basis: `measured at ${measured.faces}` },
    restart_from_saved_index_s: {
      ...judge(measured.restartSeconds * scale, 60, true),
      basis: "the service's start in a fresh process, Postgres's read of ids and clusters included",
    },
    // Short of 10M, the faces still missing at the last tenth's rate: inserts only get slower as the graph
    // grows, so this is a lower bound (9.98M preloaded: 0.2% of it projected).
    full_rebuild_minutes: rebuild
      ? {
          ...judge(
            (rebuild.seconds +
              (Math.max(0, TEN_MILLION - rebuild.faces) * rebuild.lastTenth.seconds) / rebuild.lastTenth.faces) /
              60,
            30,
            true,
          ),
          ...(rebuild.faces < TEN_MILLION
            ? { basis: `lower bound: ${rebuild.faces} faces measured, the rest at the last tenth's rate` }
            : {}),
        }
      : 'not measured: run with --preload',
  };
}

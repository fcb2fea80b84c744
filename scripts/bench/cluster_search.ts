/**
 * Cluster search bench: 1:N query latency and same-person partners found, on a graph the cluster bench built
 * and kept (`bench -- cluster ... --built-in-statistics --keep-saved DIR`), searched at another breadth. At 10M
 * faces a build takes over an hour; this measures a breadth in minutes on the same graph.
 *
 *   npm run -s bench -- cluster_search --saved DIR [--expansion-search 512]
 *
 * The saved index and gallery load as a restarting worker's do (checksums included). Each face's identity is
 * drawn again from the covariance generator with the built-in statistics, the cluster bench's with
 * `--built-in-statistics`; the first preloaded faces' saved clusters must agree with it (checked).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { UsearchIndex, type UsearchIndexShape } from '../../src/repositories/usearch-index.repository.js';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';
import { covarianceFaceStream, type FaceStatistics } from './face-generator.js';
import { partnerRecall, queryLatency } from './lib/graph-search.js';
import { log, round } from './lib/env.js';

const BUILT_IN_STATISTICS = fileURLToPath(new URL('./face-statistics.json', import.meta.url));
/** Faces whose saved cluster is checked against the regenerated identity (preloaded as identity + 1). */
const CHECKED_FACES = 1_000;

function parseOptions(argv: string[]): { saved: string; expansionSearch: number } {
  const { values } = parseArgs({
    args: argv,
    options: { saved: { type: 'string' }, 'expansion-search': { type: 'string', default: '256' } },
    strict: true,
    allowPositionals: false,
  });
  if (!values.saved) throw new Error('--saved DIR is required: a directory the cluster bench wrote with --keep-saved');
  const expansionSearch = Number(values['expansion-search']);
  if (!Number.isInteger(expansionSearch) || expansionSearch < 1 || expansionSearch > 4096) {
    throw new Error('--expansion-search must be an integer from 1 to 4096');
  }
  return { saved: path.resolve(values.saved), expansionSearch };
}

export async function run(argv: string[]): Promise<object> {
  const { saved, expansionSearch } = parseOptions(argv);
  const indexFile = path.join(saved, 'index.usearch');
  const meta = JSON.parse(await readFile(`${indexFile}.json`, 'utf8')) as { shape: UsearchIndexShape };
  const { connectivity, expansionAdd, quantization, dimensions } = meta.shape;
  let index: UsearchIndex | undefined;
  const createIndex = () =>
    (index = new UsearchIndex('euclidean', dimensions, { connectivity, expansionAdd, expansionSearch, quantization }));
  const started = performance.now();
  const loaded = await new UsearchIndexFile(indexFile, createIndex).load();
  if (!('index' in loaded) || !loaded.gallery) {
    throw new Error(`${indexFile}: ${'unusable' in loaded ? loaded.unusable : loaded.galleryUnusable}`);
  }
  const { pages, facesPerPage } = loaded.gallery;
  const gallery = FaceVectorStore.fromPages(pages, dimensions, facesPerPage);
  const total = gallery.size;
  log(`loaded ${total} faces in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const stats = JSON.parse(await readFile(BUILT_IN_STATISTICS, 'utf8')) as FaceStatistics;
  const faceStream = covarianceFaceStream({ ...stats, faceSpread: 0 });
  const identities = new Int32Array(total);
  for (let faceId = 0; faceId < total; faceId++) identities[faceId] = faceStream.next().value.identity;
  for (let faceId = 0; faceId < Math.min(total, CHECKED_FACES); faceId++) {
    if (gallery.clusterOf(faceId) !== identities[faceId]! + 1) {
      throw new Error(
        `face ${faceId}: saved in cluster ${gallery.clusterOf(faceId)}, the generator says identity ${identities[faceId]}` +
          ': the graph was not built by the cluster bench with --built-in-statistics and --preload',
      );
    }
  }
  log('identities drawn again; measuring');

  const vectorOf = (faceId: number) => gallery.vectorOf(faceId)!;
  const latency = queryLatency(index!, vectorOf, total);
  const config = loadConfig(process.env, { secret: 'ephemeral' });
  const neighbours = config.clustering.neighbours;
  // The cluster bench's pair threshold.
  const partners = partnerRecall(index!, () => gallery.savedPages(), vectorOf, identities, 0.5, neighbours);
  const share = (found: number, of: number) => round(found / Math.max(1, of), 4);
  return {
    bench: 'cluster_search',
    faces: total,
    index: { ...meta.shape, expansionSearch },
    query_ms: { p50: round(latency.p50, 3), p99: round(latency.p99, 3) },
    ann_recall_within_pair_threshold: {
      recall: share(partners.found, partners.ranked),
      same_person_pairs: partners.ranked,
      same_person_pairs_in_gallery: partners.pairs,
      partner_in_exact_top_k: share(partners.inExactReach, partners.ranked),
      ann_found_of_those: share(partners.foundInReach, partners.inExactReach),
    },
    targets_at_this_size: {
      query_p99_ms: { value: round(latency.p99, 3), target: 10, pass: latency.p99 < 10 },
      partners_found_of_exact: {
        value: share(partners.foundInReach, partners.inExactReach),
        target: 0.99,
        pass: partners.foundInReach / Math.max(1, partners.inExactReach) >= 0.99,
      },
    },
  };
}

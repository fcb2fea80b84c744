/**
 * Full rebuild bench: a cluster worker's start without a usable saved index, as the service does it
 * (`ClusterService.rebuild`): every clustered face read from Postgres with its descriptor, 10,000 at a time,
 * and inserted into a fresh graph, each page read while the one before goes in. The cluster bench's preload
 * times the inserts alone; this adds Postgres. The same two steps are also timed alone on the same faces
 * (every page read, then every page inserted), so what the overlap saves shows as their sum less the rebuild.
 *
 *   npm run -s bench -- full_rebuild [--faces 1000000]
 *
 * The faces are the cluster bench's covariance generator with its built-in statistics (one cluster per
 * identity), stored in a private database.
 */
import { parseArgs } from 'node:util';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { createPool, migrate } from '../../src/repositories/database.js';
import { UsearchIndex } from '../../src/repositories/usearch-index.repository.js';
import { ClusterService } from '../../src/services/clustering/cluster.service.js';
import { FaceClusterer } from '../../src/services/clustering/face-clusterer.js';
import { DEFAULT_IDENTITY_POLICY } from '../../src/services/rules/identity-graph.js';
import { loadConfig } from '../../src/config.js';
import { covarianceFaceStream, DIMENSIONS } from './face-generator.js';
import { createBenchEnv, log, round } from './lib/env.js';
import { integerOption } from './lib/options.js';
import { storeFaces } from './lib/stored-faces.js';
import { benchClusterRules, builtInStatistics, faceEvidenceOf } from './lib/cluster-setup.js';

/** The rebuild's page size (ClusterService's RESTORE_PAGE). */
const PAGE = 10_000;

function parseOptions(argv: string[]): { total: number } {
  const { values } = parseArgs({
    args: argv,
    options: { faces: { type: 'string', default: '1000000' } },
    strict: true,
    allowPositionals: false,
  });
  return { total: integerOption('faces', values.faces, PAGE, 5_000_000) };
}

const seconds = (since: number) => (performance.now() - since) / 1000;

export async function run(argv: string[]): Promise<object> {
  const { total } = parseOptions(argv);
  const faceStream = covarianceFaceStream({ ...(await builtInStatistics()), faceSpread: 0 });
  const vectors: Float32Array[] = [];
  const clusterIds = new Float64Array(total + 1);
  for (let faceId = 1; faceId <= total; faceId++) {
    const { vector, identity } = faceStream.next().value;
    vectors.push(vector);
    clusterIds[faceId] = identity + 1;
  }
  const config = loadConfig(process.env, { secret: 'ephemeral' });
  const rules = benchClusterRules(config);
  const createIndex = () => new UsearchIndex('euclidean', DIMENSIONS);

  const env = await createBenchEnv('full-rebuild');
  try {
    await migrate(env.databaseUrl);
    // As many connections as the cluster worker has.
    const pool = createPool(env.databaseUrl, 3);
    env.onCleanup(() => pool.end());
    await storeFaces(
      pool,
      1,
      total,
      (faceId) => clusterIds[faceId]!,
      log,
      (faceId) => vectors[faceId - 1]!,
    );
    const store = new ClusterRepository(pool);

    // Each step alone: every page read (Postgres warm, as for the rebuild after it), then every page inserted.
    let started = performance.now();
    for (let after = 0; ;) {
      const page = await store.loadFaces('face_recognition', after, PAGE);
      if (page.length === 0) break;
      after = page.at(-1)!.faceId;
    }
    const readSeconds = seconds(started);
    log(`read alone: ${readSeconds.toFixed(1)} s`);
    started = performance.now();
    let clusterer: FaceClusterer | undefined = new FaceClusterer(createIndex(), rules);
    for (let from = 1; from <= total; from += PAGE) {
      const page = [];
      for (let faceId = from; faceId < Math.min(total + 1, from + PAGE); faceId++) {
        page.push({ faceId, vector: vectors[faceId - 1]!, clusterId: clusterIds[faceId]! });
      }
      clusterer.restoreMany(page);
    }
    const insertSeconds = seconds(started);
    log(`inserts alone: ${insertSeconds.toFixed(1)} s`);
    clusterer = undefined;
    // A few faces kept to check the rebuilt graph finds them in their clusters (the descriptors went through
    // Postgres), the rest let go before the rebuild.
    const probes = [1, Math.ceil(total / 2), total].map((faceId) => ({ faceId, vector: vectors[faceId - 1]! }));
    vectors.length = 0;

    const service = new ClusterService(store, 'face_recognition', rules, createIndex, {
      ...DEFAULT_IDENTITY_POLICY,
      calibration: await faceEvidenceOf('face_recognition'),
    });
    const cpu = process.cpuUsage();
    started = performance.now();
    const rebuilt = await service.rebuild();
    const rebuildSeconds = seconds(started);
    const used = process.cpuUsage(cpu);
    if (rebuilt.faces !== total) throw new Error(`the rebuild restored ${rebuilt.faces} faces, stored ${total}`);
    for (const { faceId, vector } of probes) {
      const nearest = (await service.match(vector))[0];
      if (nearest?.clusterId !== clusterIds[faceId]) {
        throw new Error(`face ${faceId} matched ${JSON.stringify(nearest)}, stored in cluster ${clusterIds[faceId]}`);
      }
    }
    log(`full rebuild: ${rebuildSeconds.toFixed(1)} s`);
    return {
      bench: 'full_rebuild',
      faces: total,
      page: PAGE,
      rebuild: {
        seconds: round(rebuildSeconds, 1),
        faces_per_s: Math.round(total / rebuildSeconds),
        node_cpu_s: round((used.user + used.system) / 1e6, 1),
      },
      alone: {
        read_s: round(readSeconds, 1),
        insert_s: round(insertSeconds, 1),
        sum_s: round(readSeconds + insertSeconds, 1),
      },
      overlap_saved_s: round(readSeconds + insertSeconds - rebuildSeconds, 1),
      note: 'read alone runs first, so the rebuild reads a warm Postgres as a restarted worker usually does',
    };
  } finally {
    await env.cleanup();
  }
}

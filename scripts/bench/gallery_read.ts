/**
 * Gallery read bench: how long a restarting cluster worker spends reading every clustered face from Postgres.
 * `ClusterService.rebuild` does this on every start, with or without a saved index (Postgres is the source of
 * truth for which faces exist and which cluster each is in); the cluster bench's restart figure leaves it out.
 *
 *   npm run -s bench -- gallery_read [--faces 1000000] [--rounds 2]
 *
 * A private database gets `--faces` faces with 128-d float32 embeddings (synthetic bytes: only their size
 * matters here) and a cluster each, then `ClusterRepository.loadFaces` pages through all of them, 10,000 at a
 * time, as a rebuild without a saved gallery does, and `loadMemberships` (ids and clusters only, one query
 * streamed) as a restart with the saved gallery does, `--rounds` times. The 10M figure is a linear projection, labelled as such.
 */
import { parseArgs } from 'node:util';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { createPool, migrate } from '../../src/repositories/database.js';
import { createBenchEnv, log, round } from './lib/env.js';
import { integerOption } from './lib/options.js';
import { storeFaces } from './lib/stored-faces.js';

/** The rebuild's page size (ClusterService.restoreAll). */
const PAGE = 10_000;
const TARGET_RESTART_S_AT_10M = 60;

function parseOptions(argv: string[]): { total: number; rounds: number } {
  const { values } = parseArgs({
    args: argv,
    options: { faces: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '2' } },
    strict: true,
    allowPositionals: false,
  });
  return {
    total: integerOption('faces', values.faces, PAGE, 100_000_000),
    rounds: integerOption('rounds', values.rounds, 1, 10),
  };
}

interface ReadFigures {
  seconds: number;
  faces_per_s: number;
  node_cpu_s: number;
}

/** Pages through every face with `readPage` (given the last face id read), timed; checks all were read. */
async function timedRead(
  total: number,
  page: number,
  readPage: (after: number) => Promise<{ faces: number; last: number | undefined }>,
): Promise<ReadFigures> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let after = 0;
  let faces = 0;
  for (;;) {
    const read = await readPage(after);
    faces += read.faces;
    if (read.faces < page || read.last === undefined) break;
    after = read.last;
  }
  if (faces !== total) throw new Error(`read ${faces} faces, stored ${total}`);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  log(`read ${total} faces in ${seconds.toFixed(1)} s (pages of ${page})`);
  return {
    seconds: round(seconds, 2),
    faces_per_s: Math.round(total / seconds),
    node_cpu_s: round((used.user + used.system) / 1e6, 2),
  };
}

export async function run(argv: string[]): Promise<object> {
  const { total, rounds } = parseOptions(argv);
  const env = await createBenchEnv('gallery-read');
  try {
    await migrate(env.databaseUrl);
    const pool = createPool(env.databaseUrl, 2);
    env.onCleanup(() => pool.end());
    const fillStarted = performance.now();
    await storeFaces(pool, 1, total, (faceId) => Math.floor((faceId + 1) / 2), log);
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const size = await pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('faces')::text AS bytes`);

    const store = new ClusterRepository(pool);
    // Each round: every face with its descriptor (a restart without a saved gallery), then only ids and clusters
    // (a restart whose descriptors come from the gallery saved with the index).
    const reads: ReadFigures[] = [];
    const membershipReads: ReadFigures[] = [];
    for (let r = 0; r < rounds; r++) {
      reads.push(
        await timedRead(total, PAGE, async (after) => {
          const page = await store.loadFaces('face_recognition', after, PAGE);
          return { faces: page.length, last: page.at(-1)?.faceId };
        }),
      );
      membershipReads.push(
        await timedRead(total, Number.POSITIVE_INFINITY, async () => {
          const pages = await store.loadMemberships('face_recognition');
          return { faces: pages.reduce((faces, page) => faces + page.faceIds.length, 0), last: undefined };
        }),
      );
    }
    const projected = (figures: ReadFigures[]) =>
      round((Math.min(...figures.map((read) => read.seconds)) * 10_000_000) / total, 0);
    return {
      bench: 'gallery_read',
      faces: total,
      page: PAGE,
      fill_s: round(fillSeconds, 1),
      faces_table_mb: round(Number(size.rows[0]!.bytes) / 2 ** 20, 0),
      reads,
      membership_reads: membershipReads,
      projected_10m: {
        read_s: projected(reads),
        membership_read_s: projected(membershipReads),
        note: 'linear projection of the fastest read; at 10M the faces table (about 8 GB) may not stay in memory',
        restart_target_s: TARGET_RESTART_S_AT_10M,
        fits_target_alone: projected(reads) < TARGET_RESTART_S_AT_10M,
        memberships_fit_target_alone: projected(membershipReads) < TARGET_RESTART_S_AT_10M,
      },
    };
  } finally {
    await env.cleanup();
  }
}

/**
 * Gallery read bench: how long a restarting cluster worker spends reading every clustered face from Postgres.
 * `ClusterService.rebuild` does this on every start, with or without a saved index (Postgres is the source of
 * truth for which faces exist and which cluster each is in); the cluster bench's restart figure leaves it out.
 *
 *   npm run -s bench -- gallery_read [--faces 1000000] [--rounds 2]
 *
 * A private database gets `--faces` faces with 128-d float32 embeddings (synthetic bytes: only their size
 * matters here) and a cluster each, then `ClusterRepository.loadFaces` pages through all of them, 10,000 at a
 * time, as the rebuild does, `--rounds` times. The 10M figure is a linear projection, labelled as such.
 */
import { parseArgs } from 'node:util';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { createPool, migrate } from '../../src/repositories/database.js';
import { createBenchEnv, log, round } from './lib/env.js';

/** The rebuild's page size (ClusterService.restoreAll). */
const PAGE = 10_000;
const FILL_CHUNK = 250_000;
const TARGET_RESTART_S_AT_10M = 60;

function parseOptions(argv: string[]): { total: number; rounds: number } {
  const { values } = parseArgs({
    args: argv,
    options: { faces: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '2' } },
    strict: true,
    allowPositionals: false,
  });
  const total = Number(values.faces);
  if (!Number.isInteger(total) || total < PAGE || total > 100_000_000) {
    throw new Error(`--faces must be an integer from ${PAGE} to 100000000`);
  }
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10)
    throw new Error('--rounds must be an integer from 1 to 10');
  return { total, rounds };
}

export async function run(argv: string[]): Promise<object> {
  const { total, rounds } = parseOptions(argv);
  const env = await createBenchEnv('gallery-read');
  try {
    await migrate(env.databaseUrl);
    const pool = createPool(env.databaseUrl, 2);
    env.onCleanup(() => pool.end());
    const fillStarted = performance.now();
    const client = await pool.connect();
    try {
      // Faces without their records, photos and clusters rows: foreign keys are not checked for this fill only.
      await client.query('SET session_replication_role = replica');
      for (let from = 1; from <= total; from += FILL_CHUNK) {
        const to = Math.min(total, from + FILL_CHUNK - 1);
        await client.query(
          `INSERT INTO faces (record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version,
                              embedding, thumbnail_path, photo_phash)
           SELECT i, '\\x00', '{}', '[]', '{}', 'face_recognition', '2', decode(repeat(md5(i::text), 32), 'hex'),
                  't', '0000000000000000'
           FROM generate_series($1::int, $2::int) i`,
          [from, to],
        );
        await client.query(
          'INSERT INTO cluster_members (face_id, cluster_id) SELECT i, (i + 1) / 2 FROM generate_series($1::int, $2::int) i',
          [from, to],
        );
        log(`${to}/${total} faces stored`);
      }
    } finally {
      client.release();
    }
    await pool.query('VACUUM ANALYZE faces');
    await pool.query('VACUUM ANALYZE cluster_members');
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const size = await pool.query<{ bytes: string }>(`SELECT pg_total_relation_size('faces')::text AS bytes`);

    const store = new ClusterRepository(pool);
    const reads: { seconds: number; faces_per_s: number; node_cpu_s: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const started = performance.now();
      const cpu = process.cpuUsage();
      let after = 0;
      let faces = 0;
      for (;;) {
        const page = await store.loadFaces('face_recognition', after, PAGE);
        if (page.length === 0) break;
        faces += page.length;
        after = page.at(-1)!.faceId;
      }
      if (faces !== total) throw new Error(`read ${faces} faces, stored ${total}`);
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      reads.push({
        seconds: round(seconds, 2),
        faces_per_s: Math.round(total / seconds),
        node_cpu_s: round((used.user + used.system) / 1e6, 2),
      });
      log(`read ${total} faces in ${seconds.toFixed(1)} s`);
    }
    const best = Math.min(...reads.map((read) => read.seconds));
    const projected = round((best * 10_000_000) / total, 0);
    return {
      bench: 'gallery_read',
      faces: total,
      page: PAGE,
      fill_s: round(fillSeconds, 1),
      faces_table_mb: round(Number(size.rows[0]!.bytes) / 2 ** 20, 0),
      reads,
      projected_10m: {
        read_s: projected,
        note: 'linear projection of the fastest read; at 10M the faces table (about 8 GB) may not stay in memory',
        restart_target_s: TARGET_RESTART_S_AT_10M,
        fits_target_alone: projected < TARGET_RESTART_S_AT_10M,
      },
    };
  } finally {
    await env.cleanup();
  }
}

import type { Pool } from '../../../src/repositories/database.js';
import { embeddingToBytes } from '../../../src/repositories/face.repository.js';

/** Faces per INSERT of the fill. */
const FILL_CHUNK = 250_000;
/** Faces per INSERT when real descriptors are stored (each sent as a parameter). */
const DESCRIPTOR_CHUNK = 20_000;

/**
 * Stores `count` faces with ids from `firstId` in a bench's private (migrated) database, each in the cluster
 * `clusterOf` gives, as a cluster worker's restart reads them: a faces row with the descriptor `descriptorOf`
 * gives, or a 512-byte stand-in (where only its size matters), and a cluster_members row. Foreign keys are not
 * checked for this fill only: there are no records, photos or clusters rows behind them.
 */
export async function storeFaces(
  pool: Pool,
  firstId: number,
  count: number,
  clusterOf: (faceId: number) => number,
  log: (message: string) => void,
  descriptorOf?: (faceId: number) => Float32Array,
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SET session_replication_role = replica');
    const chunk = descriptorOf ? DESCRIPTOR_CHUNK : FILL_CHUNK;
    for (let from = firstId; from < firstId + count; from += chunk) {
      const to = Math.min(firstId + count, from + chunk) - 1;
      const faceIds = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      const descriptors = descriptorOf ? faceIds.map((faceId) => embeddingToBytes(descriptorOf(faceId))) : null;
      await client.query(
        `INSERT INTO faces (id, record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version,
                            embedding, thumbnail_path, photo_phash) OVERRIDING SYSTEM VALUE
         SELECT i, i, '\\x00', '{}', '[]', '{}', 'face_recognition', '2',
                coalesce(d.embedding, decode(repeat(md5(i::text), 32), 'hex')), 't', '0000000000000000'
         FROM generate_series($1::bigint, $2::bigint) i
         LEFT JOIN unnest($3::bytea[]) WITH ORDINALITY AS d(embedding, n) ON d.n = i - $1::bigint + 1`,
        [from, to, descriptors ?? []],
      );
      await client.query(
        'INSERT INTO cluster_members (face_id, cluster_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])',
        [faceIds, faceIds.map(clusterOf)],
      );
      log(`${to - firstId + 1}/${count} faces stored`);
    }
  } finally {
    client.release();
  }
  await pool.query('VACUUM ANALYZE faces');
  await pool.query('VACUUM ANALYZE cluster_members');
}

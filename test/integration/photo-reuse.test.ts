import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { PHOTO_REUSE_MAX_BITS } from '../../src/services/rules/identity-graph.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';

let env: TestEnv;
let repository: ClusterRepository;

beforeAll(async () => {
  env = await createTestEnv();
  repository = new ClusterRepository(env.container.pool);
  const key = await env.key('operator', 'JIO');
  // Five subscribers (five documents); no workers run: the faces below are written by hand with chosen hashes.
  await uploadPhotos(env.url, key, await Promise.all([0, 1, 2, 3, 4].map((v) => portrait(1, 0, v))), 1);
});

afterAll(async () => {
  await env?.close();
});

/** Gives record `n` (1-based upload order) a face whose photo hash is `phash`, in cluster `clusterId`. */
async function face(n: number, phash: string, clusterId: number): Promise<void> {
  const pool = env.container.pool;
  const record = (await pool.query<{ id: number }>('SELECT id FROM kyc_records ORDER BY id OFFSET $1 LIMIT 1', [n - 1]))
    .rows[0]!;
  const inserted = await pool.query<{ id: number }>(
    `INSERT INTO faces (record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version, embedding,
       thumbnail_path, photo_phash)
     SELECT id, photo_sha256, '{}', '[]', '{}', 'test', '1', '\\x00000000', '', $2::text FROM kyc_records
     WHERE id = $1::bigint RETURNING id`,
    [record.id, phash],
  );
  await pool.query('INSERT INTO clusters (id, embedder) VALUES ($1::bigint, $2::text) ON CONFLICT DO NOTHING', [
    clusterId,
    'test',
  ]);
  await pool.query('INSERT INTO cluster_members (face_id, cluster_id) VALUES ($1::bigint, $2::bigint)', [
    inserted.rows[0]!.id,
    clusterId,
  ]);
}

/** `hex` with `bits` low-order bits of its chunk `chunk` (0-3) flipped. */
function flip(hex: string, chunk: number, bits: number): string {
  const value = BigInt(`0x${hex}`) ^ (((1n << BigInt(bits)) - 1n) << BigInt(48 - 16 * chunk));
  return value.toString(16).padStart(16, '0');
}

describe('PHOTO_REUSE with near-duplicate photo hashes', () => {
  it('treats hashes within the bit limit as one picture, in any chunk, and farther ones as different', async () => {
    const base = '9f3a5c7e1b2d4f60';
    expect(PHOTO_REUSE_MAX_BITS).toBe(3);
    await face(1, base, 1);
    await face(2, flip(base, 0, 1), 2); // 1 bit from 1, in the first chunk
    await face(3, flip(flip(base, 1, 1), 3, 2), 3); // 3 bits from 1 over two chunks; 4 from 2
    await face(4, flip(base, 2, 8), 4); // 8 bits from 1: another picture

    const faces = (await env.container.pool.query<{ id: number }>('SELECT id FROM faces ORDER BY id')).rows.map(
      (row) => row.id,
    );
    // Pairs of photos within 3 bits; nearness is not chained (2 and 3 are 4 bits apart).
    expect(await repository.photoLinks(faces)).toEqual([
      [faces[0], faces[1]],
      [faces[0], faces[2]],
    ]);

    expect(await repository.facesWithPhoto(base)).toEqual(faces.slice(0, 3));
    // 3 bits from 1, 2 bits from 3, 4 bits from 2.
    expect(await repository.facesWithPhoto(flip(base, 3, 3))).toEqual([faces[0], faces[2]]);
    expect((await repository.relatedClusters([2])).sort()).toEqual([1, 2]);
    expect((await repository.relatedClusters([4])).sort()).toEqual([4]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { UsearchIndex } from '../../src/repositories/usearch-index.repository.js';
import { ClusterService } from '../../src/services/clustering/cluster.service.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';
import { TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';

let env: TestEnv;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
  // Three subscribers; no workers run: their faces are written by hand below, in a chosen commit order.
  await uploadPhotos(env.url, key, await Promise.all([0, 1, 2].map((v) => portrait(1, 0, v))), 1);
});

afterAll(async () => {
  await env?.close();
});

/** A face row for the n-th record (upload order) on `db`, with a descriptor near `x` on one axis. */
async function insertFace(db: { query: TestEnv['container']['pool']['query'] }, n: number, x: number) {
  const embedding = Buffer.alloc(128 * 4);
  embedding.writeFloatLE(x, 0);
  const result = await db.query<{ id: number }>(
    `INSERT INTO faces (record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version, embedding,
       thumbnail_path, photo_phash)
     SELECT id, photo_sha256, '{}', '[]', '{}', 'test', '1', $2::bytea, '', '0000000000000000'
     FROM kyc_records ORDER BY id OFFSET $1::integer LIMIT 1 RETURNING id`,
    [n - 1, embedding],
  );
  return result.rows[0]!.id;
}

const RULES = {
  metric: 'euclidean',
  pairThreshold: 0.5,
  averageThreshold: 0.45,
  minSupport: 0.5,
  neighbours: 8,
} as const;

/** The cluster service on the test embedder's descriptors (one axis matters), with an exact index. */
function testClusterService(pool: TestEnv['container']['pool']) {
  return new ClusterService(new ClusterRepository(pool), 'test', RULES, undefined, TEST_IDENTITY_POLICY);
}

describe('faces that commit out of id order', () => {
  it('are still clustered when a higher id was clustered before they committed', async () => {
    const pool = env.container.pool;
    const service = testClusterService(pool);
    const first = await insertFace(pool, 1, 0);
    // A face worker takes the next id but commits late, after another worker's face is clustered.
    const late = await pool.connect();
    try {
      await late.query('BEGIN');
      const lateId = await insertFace(late, 2, 0.1);
      const third = await insertFace(pool, 3, 5);
      expect(lateId).toBeGreaterThan(first);
      expect(third).toBeGreaterThan(lateId);
      expect((await service.clusterPending()).faces).toBe(2);
      await late.query('COMMIT');
      expect((await service.clusterPending()).faces).toBe(1);
      const members = await pool.query<{ face_id: number; cluster_id: number }>(
        'SELECT face_id, cluster_id FROM cluster_members ORDER BY face_id',
      );
      const clusterOf = new Map(members.rows.map((r) => [r.face_id, r.cluster_id]));
      expect(clusterOf.get(lateId)).toBe(clusterOf.get(first));
      expect(clusterOf.get(third)).not.toBe(clusterOf.get(first));
    } finally {
      late.release();
    }
  });

  it('judges on start the clusters whose change was written but whose verdict was not (a killed writer)', async () => {
    const pool = env.container.pool;
    // What a writer killed between the membership commit and the verdict leaves: a member, size still 0.
    const face = (
      await pool.query<{ id: number }>("SELECT id FROM faces WHERE embedder = 'test' ORDER BY id DESC LIMIT 1")
    ).rows[0]!.id;
    await pool.query('DELETE FROM cluster_members WHERE face_id = $1::bigint', [face]);
    await pool.query("INSERT INTO clusters (id, embedder) VALUES (777, 'test')");
    await pool.query('INSERT INTO cluster_members (face_id, cluster_id) VALUES ($1::bigint, 777)', [face]);
    await pool.query('UPDATE clusters SET size = 0 WHERE id = 777');
    const restarted = testClusterService(pool);
    await restarted.clusterPending();
    const judged = await pool.query<{ size: number }>('SELECT size FROM clusters WHERE id = 777');
    expect(judged.rows[0]!.size).toBe(1);
  });

  it('restart from the saved index and gallery: ids and clusters from Postgres, descriptors from the gallery', async () => {
    const pool = env.container.pool;
    const repository = new ClusterRepository(pool);
    const dir = await mkdtemp(path.join(tmpdir(), 'simsift-gallery-'));
    try {
      const createIndex = () => new UsearchIndex('euclidean', 128, { threads: 1 });
      const saved = () => new UsearchIndexFile(path.join(dir, 'test.usearch'), createIndex);
      const withSavedIndex = () =>
        new ClusterService(repository, 'test', RULES, createIndex, TEST_IDENTITY_POLICY, saved());
      const writer = withSavedIndex();
      await writer.clusterPending();
      const clusteredAtSave = await pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM cluster_members m JOIN faces f ON f.id = m.face_id WHERE f.embedder = 'test'`,
      );
      expect(await writer.saveIndex()).toEqual({ faces: clusteredAtSave.rows[0]!.n });
      // A fourth subscriber's face, stored after the save and not clustered yet.
      await uploadPhotos(env.url, key, [await portrait(1, 0, 3)], 4);
      const pending = await insertFace(pool, 4, 9);

      const [memberships, ...more] = await repository.loadMemberships('test');
      expect(more).toEqual([]);
      const stored = await pool.query<{ id: number; cluster_id: number | null }>(
        `SELECT f.id, m.cluster_id FROM faces f LEFT JOIN cluster_members m ON m.face_id = f.id
         WHERE f.embedder = 'test' ORDER BY f.id`,
      );
      expect([...memberships!.faceIds]).toEqual(stored.rows.map((row) => row.id));
      expect([...memberships!.clusterIds]).toEqual(stored.rows.map((row) => row.cluster_id ?? Number.NaN));
      expect(memberships!.clusterIds.at(-1)).toBeNaN();
      // Streamed into pages: every page but the last full, in id order.
      const inPairs = await repository.loadMemberships('test', undefined, 2);
      expect(inPairs.map((page) => page.faceIds.length)).toEqual(
        Array.from({ length: Math.ceil(stored.rows.length / 2) }, (_, i) => Math.min(2, stored.rows.length - 2 * i)),
      );
      expect(inPairs.flatMap((page) => [...page.clusterIds])).toEqual([...memberships!.clusterIds]);
      const upToSecond = await repository.loadMemberships('test', stored.rows[1]!.id);
      expect(upToSecond.flatMap((page) => [...page.faceIds])).toEqual([stored.rows[0]!.id, stored.rows[1]!.id]);

      const restarted = withSavedIndex();
      const clustered = stored.rows.filter((row) => row.cluster_id !== null).length;
      expect(await restarted.rebuild()).toMatchObject({
        faces: clustered,
        savedIndex: `loaded (${clustered} faces), descriptors from its gallery`,
      });
      expect((await restarted.clusterPending()).faces).toBe(1);
      const fresh = testClusterService(pool);
      const probe = Float32Array.from({ length: 128 }, (_, i) => (i === 0 ? 0.05 : 0));
      expect(await restarted.match(probe)).toEqual(await fresh.match(probe));
      expect(pending).toBeGreaterThan(stored.rows[0]!.id);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

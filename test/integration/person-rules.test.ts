import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portrait } from '../../src/demo/sample-portraits.js';
import { ClusterRepository } from '../../src/repositories/cluster.repository.js';
import { ClusterService } from '../../src/services/clustering/cluster.service.js';
import type { ClusterEvidence } from '../../src/services/rules/rules.service.js';
import { TEST_CLUSTER_RULES, TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';
import { FaceSpace } from '../helpers/face-space.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';

let env: TestEnv;
const STRANGERS = 40;
/** Upload order: the strangers, then one subscriber's 7 SIMs, then one document on two people. */
const SUBSCRIBER = Array.from({ length: 7 }, (_, i) => STRANGERS + i);
const REUSED = [STRANGERS + 7, STRANGERS + 8];

beforeAll(async () => {
  env = await createTestEnv();
  const key = await env.key('operator', 'JIO');
  const photos = await Promise.all(
    Array.from({ length: STRANGERS + 9 }, (_, i) => portrait(1, i % 3, Math.floor(i / 3))),
  );
  await uploadPhotos(env.url, key, photos, 1);
  // No face workers run: the records are shaped and their faces written by hand, with chosen descriptors.
  const ids = await recordIds();
  await env.container.pool.query(
    `UPDATE kyc_records SET name = 'Harpreet Kaur', lsa = 'JK',
       id_hmac = (SELECT id_hmac FROM kyc_records WHERE id = $1::bigint) WHERE id = ANY($2::bigint[])`,
    [ids[SUBSCRIBER[0]!], SUBSCRIBER.map((n) => ids[n])],
  );
  await env.container.pool.query(
    `UPDATE kyc_records SET name = 'Suresh Reddy', id_hmac = (SELECT id_hmac FROM kyc_records WHERE id = $1::bigint)
     WHERE id = ANY($2::bigint[])`,
    [ids[REUSED[0]!], REUSED.map((n) => ids[n])],
  );
  const space = new FaceSpace(11);
  const vectors: Float32Array[] = Array.from({ length: STRANGERS }, () => space.stranger());
  // One person whose photos fall in two groups about 0.5 apart: two face clusters, one subscriber.
  const person = space.stranger();
  const [left, right] = [space.around(person, 0.5), space.around(person, 0.5)];
  vectors.push(...SUBSCRIBER.map((_, i) => space.around(i < 4 ? left : right, 0.25)));
  vectors.push(space.stranger(), space.stranger());
  for (const [n, vector] of vectors.entries()) await insertFace(ids[n]!, vector);
});

afterAll(async () => {
  await env?.close();
});

async function recordIds(): Promise<number[]> {
  const result = await env.container.pool.query<{ id: number }>('SELECT id FROM kyc_records ORDER BY id');
  return result.rows.map((row) => row.id);
}

async function insertFace(recordId: number, vector: Float32Array) {
  await env.container.pool.query(
    `INSERT INTO faces (record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version, embedding,
       thumbnail_path, photo_phash)
     SELECT id, photo_sha256, '{}', '[]', '{"blur": 200, "yaw": 3}', 'test', '1', $2::bytea, '',
       lpad(to_hex(id * 7919), 16, '0')
     FROM kyc_records WHERE id = $1::bigint`,
    [recordId, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength)],
  );
}

async function candidates() {
  const result = await env.container.pool.query<{ recordId: number; clusterId: number; reasons: string[] }>(
    `SELECT record_id AS "recordId", cluster_id AS "clusterId", reasons FROM block_candidates ORDER BY record_id`,
  );
  return result.rows;
}

describe('fraud rules on persons, through the cluster worker and Postgres', () => {
  it('counts a person split across clusters against the cap without DOCUMENT_REUSE, and flags a reused document', async () => {
    const service = new ClusterService(
      new ClusterRepository(env.container.pool),
      'test',
      TEST_CLUSTER_RULES,
      undefined,
      TEST_IDENTITY_POLICY,
    );
    await service.clusterPending();
    const ids = await recordIds();
    const found = await candidates();
    const byRecord = new Map(found.map((candidate) => [candidate.recordId, candidate]));

    const subscriber = SUBSCRIBER.map((n) => byRecord.get(ids[n]!));
    // The person's photos are in two face clusters...
    expect(new Set(subscriber.map((candidate) => candidate?.clusterId)).size).toBe(2);
    // ...and every one of the 7 SIMs (cap 6 in JK) is counted, with no DOCUMENT_REUSE misfire.
    for (const candidate of subscriber) expect(candidate?.reasons).toEqual(['SIM_CAP_EXCEEDED']);

    for (const n of REUSED) expect(byRecord.get(ids[n]!)?.reasons).toEqual(['DOCUMENT_REUSE']);
    // Strangers are not flagged.
    expect(found).toHaveLength(SUBSCRIBER.length + REUSED.length);

    // The cluster's evidence names the person across both clusters, and the score's parts in words.
    const cluster = await env.container.pool.query<{ reasons: string[]; score: number; evidence: ClusterEvidence }>(
      'SELECT reasons, score, evidence FROM clusters WHERE id = $1::bigint',
      [subscriber[0]!.clusterId],
    );
    const { evidence, reasons, score } = cluster.rows[0]!;
    expect(reasons).toEqual(['SIM_CAP_EXCEEDED']);
    expect(score).toBeGreaterThan(0.5);
    expect(evidence.connections).toBe(7);
    expect(evidence.persons[0]!.clusters).toHaveLength(2);
    expect(evidence.findings[0]!.parts.map((part) => part.text).join(' ')).toMatch(/7 connections against a cap of 6/);
  });
});

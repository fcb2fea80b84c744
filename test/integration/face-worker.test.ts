import { access } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { runFaceWorker } from '../../workers/face-worker-runtime.js';
import { bytesToEmbedding } from '../../src/repositories/face.repository.js';
import { JobQueueRepository } from '../../src/repositories/job-queue.repository.js';
import { QueueName } from '../../src/jobs/job-registry.js';
import { faceDistance } from '../../src/services/face-distance.js';
import { samplePhoto } from '../helpers/photos.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
let key: string;
let worker: { close(): Promise<void> };

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
  worker = await runFaceWorker(env.config, createLogger({ logLevel: 'silent' }));
});

afterAll(async () => {
  await worker?.close();
  await env?.close();
});

describe('face worker, end to end', () => {
  it('takes an uploaded batch to face_ready or a reason state, with faces, thumbnails and cluster jobs', async () => {
    const noFace = await sharp({
      create: { width: 400, height: 500, channels: 3, background: { r: 90, g: 140, b: 200 } },
    })
      .jpeg()
      .toBuffer();
    const photos = [
      await portrait(1, 0, 0),
      await portrait(1, 0, 1), // the same person again, a different photo
      await portrait(3, 1, 0),
      await portrait(6, 1, 0),
      await samplePhoto(4), // a group photo
      noFace,
    ];
    const upload = await uploadPhotos(env.url, key, photos);
    expect(upload.accepted).toBe(6);

    const batch = await waitFor(
      async () => {
        const response = await fetch(`${env.url}/v1/batches/${upload.batch_id}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const body = (await response.json()) as { state: string; progress: number; counts: Record<string, number> };
        return body.state === 'completed' ? body : undefined;
      },
      60_000,
      'the batch to complete',
    );
    expect(batch.progress).toBe(1);
    expect(batch.counts).toMatchObject({ face_ready: 4, multiple_faces: 1, no_face: 1, queued: 0, waiting: 0 });

    const records = await env.container.pool.query<{
      row_number: number;
      state: string;
      state_detail: Record<string, unknown>;
    }>('SELECT row_number, state, state_detail FROM kyc_records WHERE batch_id = $1::uuid ORDER BY row_number', [
      upload.batch_id,
    ]);
    expect(records.rows.map((r) => r.state)).toEqual([
      'face_ready',
      'face_ready',
      'face_ready',
      'face_ready',
      'multiple_faces',
      'no_face',
    ]);
    expect((records.rows[4]!.state_detail.faces as unknown[]).length).toBeGreaterThanOrEqual(2);

    const faces = await env.container.pool.query<{
      id: number;
      row_number: number;
      embedding: Buffer;
      thumbnail_path: string;
      photo_phash: string;
      embedder: string;
      landmarks: unknown[];
    }>(
      `SELECT f.id, r.row_number, f.embedding, f.thumbnail_path, f.photo_phash, f.embedder, f.landmarks
       FROM faces f JOIN kyc_records r ON r.id = f.record_id WHERE r.batch_id = $1::uuid ORDER BY r.row_number`,
      [upload.batch_id],
    );
    expect(faces.rows.map((f) => f.row_number)).toEqual([1, 2, 3, 4]);
    for (const face of faces.rows) {
      expect(face.embedder).toBe('face_recognition');
      expect(face.embedding).toHaveLength(128 * 4);
      expect(face.landmarks).toHaveLength(68);
      expect(face.photo_phash).toMatch(/^[0-9a-f]{16}$/);
      const thumbnail = path.join(env.config.dataDir, face.thumbnail_path);
      await access(thumbnail);
      expect(await sharp(thumbnail).metadata()).toMatchObject({ format: 'jpeg', width: 160, height: 160 });
    }
    const [same1, same2, other1, other2] = faces.rows.map((f) => bytesToEmbedding(f.embedding));
    const sameDistance = faceDistance(same1!, same2!, 'euclidean');
    expect(sameDistance).toBeLessThan(faceDistance(same1!, other1!, 'euclidean'));
    expect(sameDistance).toBeLessThan(faceDistance(same1!, other2!, 'euclidean'));

    // The two records without a usable face are block candidates of their own (no cluster).
    const candidates = await env.container.pool.query<{
      row_number: number;
      reasons: string[];
      cluster_id: number | null;
    }>(
      `SELECT r.row_number, b.reasons, b.cluster_id FROM block_candidates b JOIN kyc_records r ON r.id = b.record_id
       WHERE r.batch_id = $1::uuid ORDER BY r.row_number`,
      [upload.batch_id],
    );
    expect(candidates.rows).toEqual([
      { row_number: 5, reasons: ['NO_USABLE_FACE'], cluster_id: null },
      { row_number: 6, reasons: ['NO_USABLE_FACE'], cluster_id: null },
    ]);

    const viaApi = await fetch(`${env.url}/v1/block-candidates?reason=NO_USABLE_FACE`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const listed = (await viaApi.json()) as { items: { clusterId: number | null; score: number }[] };
    expect(listed.items).toHaveLength(2);
    for (const item of listed.items) expect(item).toMatchObject({ clusterId: null, score: 0.2 });

    // Every stored face is queued for the cluster worker, under an id that names the face and when it was queued.
    const clusterQueue = new JobQueueRepository(env.config.redisUrl, env.config.queuePrefix, QueueName.Cluster);
    try {
      const ids = await clusterQueue.jobIds();
      for (const face of faces.rows)
        expect(ids.some((id) => new RegExp(`^cluster-${face.id}-\\d+$`).test(id))).toBe(true);
    } finally {
      await clusterQueue.close();
    }
  });
});

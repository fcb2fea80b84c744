import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseFaceWorkers, type Supervisor } from '../../src/cli/worker-supervisor.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createLogger } from '../../src/logger.js';
import { freePort, sampleValue, scrape } from '../helpers/metrics.js';
import { spawnClusterWorker, type ChildWorker } from '../helpers/services.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

// The real processes, as `simsift worker` runs them: a face worker forked by the supervisor (slot 0 serves on
// the port it is given) and the cluster worker alone, each serving its own metrics on a loopback port.
let env: TestEnv;
let key: string;
let supervisor: Supervisor | undefined;
let clusterWorker: ChildWorker | undefined;
let faceMetrics: string;
let clusterMetrics: string;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'VI');
  const facePort = await freePort();
  let clusterPort = await freePort();
  while (clusterPort === facePort) clusterPort = await freePort();
  faceMetrics = `http://127.0.0.1:${facePort}/metrics`;
  clusterMetrics = `http://127.0.0.1:${clusterPort}/metrics`;
  supervisor = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), env.childEnv(), {
    metricsPort: facePort,
  });
  [clusterWorker] = await Promise.all([
    spawnClusterWorker({ ...env.childEnv(), SIMSIFT_WORKER_METRICS_PORT: String(clusterPort) }),
    supervisor.ready,
  ]);
}, 180_000);

afterAll(async () => {
  await supervisor?.stop();
  await clusterWorker?.stop();
  await env?.close();
});

describe('worker metrics endpoints', () => {
  it('count photos, stage timings, queue waits and index size once a batch went through', async () => {
    const before = await scrape(faceMetrics);
    // Node's default metrics under their standard names, and nothing recorded before any job.
    expect(sampleValue(before, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(before, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(before).not.toMatch(/^simsift_(process|nodejs)_/m);
    expect(sampleValue(before, 'simsift_photos_processed_total')).toBeUndefined();
    expect(sampleValue(before, 'simsift_cluster_index_faces')).toBeUndefined();

    const noFace = await sharp({
      create: { width: 400, height: 500, channels: 3, background: { r: 90, g: 140, b: 200 } },
    })
      .jpeg()
      .toBuffer();
    const upload = await uploadPhotos(env.url, key, [await portrait(1, 0, 0), await portrait(3, 1, 0), noFace]);
    expect(upload.accepted).toBe(3);
    await waitFor(
      async () => {
        const response = await fetch(`${env.url}/v1/batches/${upload.batch_id}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        return ((await response.json()) as { state: string }).state === 'completed' ? true : undefined;
      },
      90_000,
      'the batch to complete',
    );

    const faces = await scrape(faceMetrics);
    expect(sampleValue(faces, 'simsift_photos_processed_total', { state: 'face_ready' })).toBe(2);
    expect(sampleValue(faces, 'simsift_photos_processed_total', { state: 'no_face' })).toBe(1);
    // Every photo is decoded and searched for a face; only the two with one are embedded.
    expect(sampleValue(faces, 'simsift_face_stage_duration_seconds_count', { stage: 'detect' })).toBe(3);
    expect(sampleValue(faces, 'simsift_face_stage_duration_seconds_count', { stage: 'decode' })).toBe(3);
    expect(sampleValue(faces, 'simsift_face_stage_duration_seconds_count', { stage: 'descriptor' })).toBe(2);
    expect(sampleValue(faces, 'simsift_face_stage_duration_seconds_sum', { stage: 'detect' })).toBeGreaterThan(0);
    expect(sampleValue(faces, 'simsift_face_stage_duration_seconds_bucket', { stage: 'detect', le: '+Inf' })).toBe(3);
    expect(sampleValue(faces, 'simsift_queue_wait_seconds_count', { queue: 'faces' })).toBe(3);
    expect(sampleValue(faces, 'simsift_queue_wait_seconds_sum', { queue: 'faces' })).toBeGreaterThan(0);
    expect(sampleValue(faces, 'simsift_job_duration_seconds_count', { queue: 'faces', result: 'completed' })).toBe(3);
    // A face worker holds no cluster index.
    expect(sampleValue(faces, 'simsift_cluster_index_faces')).toBeUndefined();

    // The cluster worker, in its own process: both faces clustered, so both in its index.
    const clustered = await waitFor(
      async () => {
        const text = await scrape(clusterMetrics);
        return sampleValue(text, 'simsift_cluster_index_faces', { embedder: 'face_recognition' }) === 2
          ? text
          : undefined;
      },
      60_000,
      'two faces in the cluster index',
    );
    expect(await env.count('cluster_members')).toBe(2);
    expect(
      sampleValue(clustered, 'simsift_cluster_index_rebuild_seconds', { embedder: 'face_recognition' }),
    ).toBeGreaterThan(0);
    expect(
      sampleValue(clustered, 'simsift_cluster_index_rebuilds_total', { source: 'postgres' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sampleValue(clustered, 'simsift_queue_wait_seconds_count', { queue: 'cluster' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(clustered, 'simsift_photos_processed_total')).toBeUndefined();
    expect(sampleValue(clustered, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  }, 180_000);

  it('serves only /metrics, on loopback', async () => {
    const other = await fetch(faceMetrics.replace('/metrics', '/'));
    expect(other.status).toBe(404);
    const post = await fetch(faceMetrics, { method: 'POST' });
    expect(post.status).toBe(405);
    const head = await fetch(clusterMetrics, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
  });
});

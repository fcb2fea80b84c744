/**
 * The cluster worker killed (kill -9) in the middle of a batch and replaced: the clusters and block candidates
 * must end as in an undisturbed run of the same batch. Both runs go through the real face worker and a cluster
 * worker in its own process, each in its own database and queues.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ALL_SAMPLE_FACES, portrait } from '../../../src/demo/sample-portraits.js';
import { runFaceWorker } from '../../../workers/face-worker-runtime.js';
import { createLogger } from '../../../src/logger.js';
import { spawnClusterWorker, type ChildWorker } from '../../helpers/services.js';
import { createTestEnv, type TestEnv } from '../../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../../helpers/upload.js';

const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

interface Outcome {
  /** Each cluster as its sorted msisdns, the clusters sorted: ids differ between runs, membership must not. */
  partition: string[];
  candidates: string[];
  reasons: string[];
}

async function snapshot(env: TestEnv): Promise<Outcome> {
  const clusters = await env.container.pool.query<{ members: string[]; reasons: string[] }>(
    `SELECT array_agg(r.msisdn ORDER BY r.msisdn) AS members, c.reasons
     FROM cluster_members m JOIN faces f ON f.id = m.face_id JOIN kyc_records r ON r.id = f.record_id
     JOIN clusters c ON c.id = m.cluster_id GROUP BY m.cluster_id, c.reasons`,
  );
  const candidates = await env.container.pool.query<{ msisdn: string }>(
    'SELECT msisdn FROM block_candidates ORDER BY msisdn',
  );
  return {
    partition: clusters.rows.map((row) => row.members.join(' ')).sort(),
    reasons: clusters.rows.map((row) => `${row.members.join(' ')}: ${[...row.reasons].sort().join(',')}`).sort(),
    candidates: candidates.rows.map((row) => row.msisdn),
  };
}

async function counts(env: TestEnv): Promise<{ faces: number; clustered: number; stale: number; pending: number }> {
  const result = await env.container.pool.query<{ faces: number; clustered: number; stale: number; pending: number }>(
    `SELECT (SELECT count(*) FROM faces)::int AS faces,
            (SELECT count(*) FROM cluster_members)::int AS clustered,
            (SELECT count(*) FROM clusters c
              WHERE c.size <> (SELECT count(*) FROM cluster_members m WHERE m.cluster_id = c.id))::int AS stale,
            (SELECT count(*) FROM kyc_records WHERE state IN ('waiting', 'queued'))::int AS pending`,
  );
  return result.rows[0]!;
}

/** Six people, two photos each, every photo a different subscriber: six flagged rings of two. */
async function batchPhotos(): Promise<Buffer[]> {
  const people = ALL_SAMPLE_FACES.slice(0, 6);
  return Promise.all(people.flatMap(([sample, index]) => [portrait(sample, index, 0), portrait(sample, index, 1)]));
}

async function pipeline(): Promise<{ env: TestEnv; key: string }> {
  const env = await createTestEnv();
  cleanups.push(() => env.close());
  const key = await env.key('operator', 'JIO');
  const faces = await runFaceWorker(env.config, createLogger({ logLevel: 'silent' }));
  cleanups.push(() => faces.close());
  return { env, key };
}

async function settled(env: TestEnv): Promise<void> {
  await waitFor(
    async () => {
      const now = await counts(env);
      return now.pending === 0 && now.faces > 0 && now.clustered === now.faces && now.stale === 0 ? true : undefined;
    },
    180_000,
    'every face clustered and judged',
  );
}

describe('the cluster worker killed mid-batch and replaced', () => {
  it('ends with the same clusters and block candidates as an undisturbed run', async () => {
    const photos = await batchPhotos();

    const reference = await pipeline();
    const steady = await spawnClusterWorker(reference.env.childEnv());
    cleanups.push(() => steady.stop());
    await uploadPhotos(reference.env.url, reference.key, photos);
    await settled(reference.env);
    const expected = await snapshot(reference.env);
    // Some sample photos fail the quality gate or pair up differently; the comparison below is what matters.
    expect(expected.partition.length).toBeGreaterThanOrEqual(4);
    expect(expected.candidates.length).toBeGreaterThanOrEqual(6);

    const disturbed = await pipeline();
    let worker: ChildWorker = await spawnClusterWorker(disturbed.env.childEnv());
    cleanups.push(() => worker.stop());
    await uploadPhotos(disturbed.env.url, disturbed.key, photos);
    await waitFor(
      async () => ((await counts(disturbed.env)).clustered >= 3 ? true : undefined),
      120_000,
      'the first clustered faces',
    );
    await worker.kill();
    const atKill = await counts(disturbed.env);
    // Faces keep arriving with no cluster worker; then a new one rebuilds its index from Postgres and goes on.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    worker = await spawnClusterWorker(disturbed.env.childEnv());
    await settled(disturbed.env);
    const actual = await snapshot(disturbed.env);

    expect(atKill.clustered).toBeLessThan(photos.length);
    expect(actual.partition).toEqual(expected.partition);
    expect(actual.reasons).toEqual(expected.reasons);
    expect(actual.candidates).toEqual(expected.candidates);
  });
});

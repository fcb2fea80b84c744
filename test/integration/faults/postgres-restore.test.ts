/**
 * Postgres restored from a backup taken before a batch, while Redis keeps that batch's finished jobs: record and
 * face ids are handed out again. Job ids must not repeat (BullMQ silently drops a job whose id Redis holds), and
 * the cluster worker must not trust an index saved after the backup.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SAMPLE_FACES, portrait } from '../../../src/demo/sample-portraits.js';
import { superviseFaceWorkers, type Supervisor } from '../../../src/cli/worker-supervisor.js';
import { createLogger } from '../../../src/logger.js';
import { spawnClusterWorker, spawnServe, type ChildServer, type ChildWorker } from '../../helpers/services.js';
import { createTestEnv, type TestEnv } from '../../helpers/test-env.js';
import { recordStateCounts, unclusteredFaces, uploadPhotos, waitFor } from '../../helpers/upload.js';

const run = promisify(execFile);

let env: TestEnv;
let key: string;
let dumpDir: string;
let server: ChildServer | undefined;
let workers: Supervisor | undefined;
let clusterWorker: ChildWorker | undefined;

beforeAll(async () => {
  env = await createTestEnv({ faces: { jobLockMs: 5_000 } });
  key = await env.key('operator', 'JIO');
  dumpDir = await mkdtemp(path.join(os.tmpdir(), 'simsift-restore-'));
});

afterAll(async () => {
  await stopServices();
  await env?.close();
  if (dumpDir) await rm(dumpDir, { recursive: true, force: true });
});

async function startServices(): Promise<void> {
  const childEnv = {
    ...env.childEnv(),
    SIMSIFT_RECONCILE_INTERVAL_MS: '1000',
    SIMSIFT_QUEUE_WATCHDOG_MS: '5000',
    SIMSIFT_CLUSTER_SWEEP_MS: '2000',
  };
  server = await spawnServe(childEnv);
  clusterWorker = await spawnClusterWorker(childEnv);
  workers = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), { ...childEnv, LOG_LEVEL: 'fatal' });
  await workers.ready;
}

async function stopServices(): Promise<void> {
  await workers?.stop();
  await clusterWorker?.stop();
  await server?.stop();
  workers = undefined;
  clusterWorker = undefined;
  server = undefined;
}

/** Uploads photos and waits until every record is final and every face is in a cluster. */
async function processed(photos: Buffer[]): Promise<{ batchId: string; states: Record<string, number> }> {
  const upload = await uploadPhotos(server!.url, key, photos);
  expect(upload.accepted).toBe(photos.length);
  const states = await waitFor(
    async () => {
      const counts = await recordStateCounts(env.container.pool, upload.batch_id);
      if ((counts.queued ?? 0) + (counts.waiting ?? 0) > 0) return undefined;
      return (await unclusteredFaces(env, upload.batch_id)) === 0 ? counts : undefined;
    },
    120_000,
    'every record final and every face clustered',
  );
  return { batchId: upload.batch_id, states };
}

describe('Postgres restored from a backup taken before a batch', () => {
  it('processes and clusters every record uploaded after the restore', async () => {
    const dump = path.join(dumpDir, 'before.dump');
    const url = env.config.databaseUrl;
    await run('pg_dump', ['--format=custom', '--file', dump, '--dbname', url]);

    await startServices();
    const photos = await Promise.all(ALL_SAMPLE_FACES.slice(0, 12).map(([sample, index]) => portrait(sample, index)));
    const before = await processed(photos.slice(0, 6));
    expect(before.states.face_ready).toBeGreaterThanOrEqual(5);
    await stopServices();

    // Redis keeps the first batch's finished jobs (embed-<id>..., cluster-<id>...), and the cluster worker's
    // saved index holds the first batch's faces; Postgres goes back to before them.
    await run('pg_restore', ['--clean', '--if-exists', '--no-owner', '--dbname', url, dump]);
    expect(await env.count('kyc_records')).toBe(0);

    await startServices();
    const after = await processed(photos.slice(6, 12));
    expect(after.states.face_ready).toBeGreaterThanOrEqual(5);
    // The same record ids as the first batch's: exactly the ids whose jobs Redis still held.
    const ids = await env.container.pool.query<{ id: number }>(
      'SELECT id FROM kyc_records WHERE batch_id = $1::uuid ORDER BY id',
      [after.batchId],
    );
    expect(ids.rows.map((row) => row.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

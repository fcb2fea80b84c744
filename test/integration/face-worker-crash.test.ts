import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseFaceWorkers, type Supervisor } from '../../src/cli/worker-supervisor.js';
import { QueueName } from '../../src/jobs/job-registry.js';
import { createLogger } from '../../src/logger.js';
import { JobQueueRepository } from '../../src/repositories/job-queue.repository.js';
import { ALL_SAMPLE_FACES, portrait } from '../../src/demo/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor, recordStateCounts, waitForFinalStates } from '../helpers/upload.js';

let env: TestEnv;
let key: string;
let supervisor: Supervisor | undefined;

beforeAll(async () => {
  // A short job lock so the killed worker's job is declared stalled within seconds.
  env = await createTestEnv({ faces: { jobLockMs: 2_000 } });
  key = await env.key('operator', 'AIRTEL');
});

afterAll(async () => {
  await supervisor?.stop();
  await env?.close();
});

const stateCounts = (batchId: string) => recordStateCounts(env.container.pool, batchId);

describe('a face worker killed mid-job', () => {
  it('is restarted, its stalled job is redone, and every record ends with one final state and at most one face', async () => {
    const photos = await Promise.all(ALL_SAMPLE_FACES.slice(0, 16).map(([sample, index]) => portrait(sample, index)));
    const upload = await uploadPhotos(env.url, key, photos);
    expect(upload.accepted).toBe(16);

    supervisor = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), env.childEnv());
    await supervisor.ready;
    const [firstPid] = supervisor.pids();
    // Kill as soon as the worker has finished some records but not all: it is then in the middle of a job.
    await waitFor(
      async () => ((await stateCounts(upload.batch_id)).face_ready ?? 0) >= 2 || undefined,
      60_000,
      'the first faces',
    );
    process.kill(firstPid!, 'SIGKILL');
    const afterKill = await stateCounts(upload.batch_id);
    expect(afterKill.queued ?? 0).toBeGreaterThan(0);

    // The supervisor starts a new process, which picks up the stalled job once its lock expires.
    await waitFor(
      async () => {
        const pids = supervisor!.pids();
        return pids.length === 1 && pids[0] !== firstPid ? true : undefined;
      },
      30_000,
      'a replacement worker',
    );
    const finalCounts = await waitForFinalStates(env.container.pool, upload.batch_id, 90_000);
    expect(Object.values(finalCounts).reduce((a, b) => a + b, 0)).toBe(16);
    expect(finalCounts.face_ready).toBeGreaterThanOrEqual(14);

    const faces = await env.container.pool.query<{ record_id: number; n: number; state: string }>(
      `SELECT r.id AS record_id, count(f.id)::int AS n, r.state FROM kyc_records r
       LEFT JOIN faces f ON f.record_id = r.id WHERE r.batch_id = $1::uuid GROUP BY r.id, r.state`,
      [upload.batch_id],
    );
    for (const row of faces.rows) expect(row.n).toBe(row.state === 'face_ready' ? 1 : 0);
    // Stop here: the next test must be the only consumer of this queue.
    await supervisor.stop();
    supervisor = undefined;
  });
});

describe('a face worker sent SIGTERM', () => {
  it('finishes its current job before exiting, leaving no job active', async () => {
    const photos = await Promise.all(
      ALL_SAMPLE_FACES.slice(0, 12).map(([sample, index]) => portrait(sample, index, 2)),
    );
    const upload = await uploadPhotos(env.url, key, photos, 1_000);
    const graceful = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), env.childEnv());
    await graceful.ready;
    await waitFor(
      async () => ((await stateCounts(upload.batch_id)).face_ready ?? 0) >= 1 || undefined,
      60_000,
      'the first face',
    );
    await graceful.stop();
    const queue = new JobQueueRepository(env.config.redisUrl, env.config.queuePrefix, QueueName.Faces);
    try {
      expect((await queue.counts()).active).toBe(0);
    } finally {
      await queue.close();
    }
    // Whatever was left is still queued, not lost: it waits for the next worker.
    const counts = await stateCounts(upload.batch_id);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(12);
  });
});

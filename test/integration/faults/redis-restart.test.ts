import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SAMPLE_FACES, portrait } from '../../../src/demo/sample-portraits.js';
import { superviseFaceWorkers, type Supervisor } from '../../../src/cli/worker-supervisor.js';
import { createLogger } from '../../../src/logger.js';
import { spawnServe, startRedis, stopRedis, type ChildServer } from '../../helpers/services.js';
import { createTestEnv, type TestEnv } from '../../helpers/test-env.js';
import { uploadPhotos, waitFor, recordStateCounts, waitForFinalStates } from '../../helpers/upload.js';

let env: TestEnv;
let key: string;
let server: ChildServer | undefined;
let workers: Supervisor | undefined;

beforeAll(async () => {
  // A short job lock: a job whose lock vanished with Redis is handed on within seconds.
  env = await createTestEnv({ faces: { jobLockMs: 5_000 } });
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  await startRedis();
  await workers?.stop();
  await server?.stop();
  await env?.close();
});

const stateCounts = (batchId: string) => recordStateCounts(env.container.pool, batchId);

describe('Redis stopped (shutdown nosave) and started again while a batch is processed', () => {
  it('loses no record: every one reaches a final state with at most one face', async () => {
    server = await spawnServe({ ...env.childEnv(), SIMSIFT_RECONCILE_INTERVAL_MS: '1000' });
    // The workers complain loudly while Redis is gone; that is expected here.
    workers = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), { ...env.childEnv(), LOG_LEVEL: 'fatal' });
    await workers.ready;
    const photos = await Promise.all(ALL_SAMPLE_FACES.slice(0, 12).map(([sample, index]) => portrait(sample, index)));
    const upload = await uploadPhotos(server.url, key, photos);
    expect(upload.accepted).toBe(12);
    await waitFor(
      async () => ((await stateCounts(upload.batch_id)).face_ready ?? 0) >= 2 || undefined,
      90_000,
      'the first faces',
    );

    let pendingAtOutage: number;
    try {
      await stopRedis();
      const counts = await stateCounts(upload.batch_id);
      pendingAtOutage = (counts.queued ?? 0) + (counts.waiting ?? 0);
      // Every job in Redis is gone now; the workers and the API keep running without it for a moment.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    } finally {
      await startRedis();
    }
    expect(pendingAtOutage).toBeGreaterThan(0);

    const final = await waitForFinalStates(
      env.container.pool,
      upload.batch_id,
      150_000,
      'every record to reach a final state after the restart',
    );
    expect(Object.values(final).reduce((a, b) => a + b, 0)).toBe(12);
    expect(final.face_ready).toBeGreaterThanOrEqual(10);
    const faces = await env.container.pool.query<{ n: number; state: string }>(
      `SELECT count(f.id)::int AS n, r.state FROM kyc_records r LEFT JOIN faces f ON f.record_id = r.id
       WHERE r.batch_id = $1::uuid GROUP BY r.id, r.state`,
      [upload.batch_id],
    );
    for (const row of faces.rows) expect(row.n).toBe(row.state === 'face_ready' ? 1 : 0);
    const batch = await fetch(`${server.url}/v1/batches/${upload.batch_id}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(await batch.json()).toMatchObject({ state: 'completed', progress: 1 });
  });
});

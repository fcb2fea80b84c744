/**
 * Cluster jobs lost with Redis (a wipe, a restart without persistence): faces that were answered and stored must
 * still be clustered, without waiting for the next upload. The cluster worker sweeps for them on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SAMPLE_FACES, portrait } from '../../src/demo/sample-portraits.js';
import { superviseFaceWorkers, type Supervisor } from '../../src/cli/worker-supervisor.js';
import { QueueName } from '../../src/jobs/job-registry.js';
import { createLogger } from '../../src/logger.js';
import { deleteQueueKeys } from '../../src/repositories/job-queue.repository.js';
import { spawnClusterWorker, type ChildWorker } from '../helpers/services.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { unclusteredFaces, uploadPhotos, waitFor, waitForFinalStates } from '../helpers/upload.js';

let env: TestEnv;
let workers: Supervisor | undefined;
let clusterWorker: ChildWorker | undefined;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await workers?.stop();
  await clusterWorker?.stop();
  await env?.close();
});

const unclustered = (batchId: string) => unclusteredFaces(env, batchId);

describe('cluster jobs lost from Redis', () => {
  it('clusters the stored faces anyway: the cluster worker sweeps for pending faces', async () => {
    // Faces are stored while no cluster worker runs; then their cluster jobs vanish.
    workers = superviseFaceWorkers(1, createLogger({ logLevel: 'silent' }), env.childEnv());
    await workers.ready;
    const key = await env.key('operator', 'JIO');
    const photos = await Promise.all(ALL_SAMPLE_FACES.slice(0, 4).map(([sample, index]) => portrait(sample, index)));
    const upload = await uploadPhotos(env.url, key, photos);
    await waitForFinalStates(env.container.pool, upload.batch_id, 90_000, 'every record final');
    const pending = await unclustered(upload.batch_id);
    expect(pending).toBeGreaterThanOrEqual(3);
    await deleteQueueKeys(env.config.redisUrl, `${env.config.queuePrefix}:${QueueName.Cluster}`);

    clusterWorker = await spawnClusterWorker({ ...env.childEnv(), SIMSIFT_CLUSTER_SWEEP_MS: '1000' });
    await waitFor(
      async () => ((await unclustered(upload.batch_id)) === 0 ? true : undefined),
      30_000,
      'every face clustered',
    );
  }, 120_000);
});

import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Container } from '../container.js';
import { dropDatabase } from '../repositories/database.js';
import { deleteQueueKeys, type JobQueueRepository } from '../repositories/job-queue.repository.js';
import { clusterSweepJob } from '../jobs/job-registry.js';
import { type ApiClient, type Batch, listAll } from '../cli/api-client.js';
import { processedRecords } from '../cli/batch-status.js';
import { CliError } from '../cli/cli-errors.js';
import { progressBar } from '../cli/progress.js';
import { DEMO_OPERATORS, type DemoOperator } from './demo-batch.js';
import type { CandidateView } from './demo-score.js';

/** Clustering that makes no progress this long while faces wait is stuck (see waitForClustering). */
const STALL_MS = 15_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The demo's own config: a fresh database, data dir and queues every run (`<database>_demo`), so the demo shows
 * one story, not whatever earlier runs left behind, and running it twice works.
 */
export async function freshDemoConfig(baseConfig: Config, port: number): Promise<Config> {
  const demoDatabase = new URL(baseConfig.databaseUrl);
  demoDatabase.pathname = `${demoDatabase.pathname}_demo`;
  const demoOwner = new URL(baseConfig.databaseOwnerUrl);
  demoOwner.pathname = demoDatabase.pathname;
  const config: Config = {
    ...baseConfig,
    databaseUrl: demoDatabase.toString(),
    databaseOwnerUrl: demoOwner.toString(),
    dataDir: path.join(baseConfig.dataDir, 'demo'),
    queuePrefix: `${baseConfig.queuePrefix}_demo`,
    host: '127.0.0.1',
    port,
  };
  await dropDatabase(config.databaseUrl);
  await deleteQueueKeys(config.redisUrl, config.queuePrefix);
  await rm(config.dataDir, { recursive: true, force: true });

  return config;
}

/** One operator key per demo operator, and an analyst key for the review and the report. */
export async function createDemoKeys(container: Container) {
  const operatorKeys = new Map<DemoOperator, string>();
  for (const operator of DEMO_OPERATORS) {
    await container.auth.createOperator(operator.code, operator.name, 'cli', null);
    const { key } = await container.auth.createKey({
      role: 'operator',
      operatorCode: operator.code,
      actor: 'cli',
      actorKeyId: null,
      label: 'demo',
    });
    operatorKeys.set(operator.code, key);
  }
  const analyst = await container.auth.createKey({
    role: 'analyst',
    operatorCode: null,
    actor: 'cli',
    actorKeyId: null,
    label: 'demo analyst',
  });
  return { operatorKeys, analyst };
}

/** Polls the batches until the face workers have finished every record (10 minutes at most). */
export async function waitForFacePipeline(api: ApiClient, batchIds: readonly string[], accepted: number) {
  const processingBar = progressBar('faces', accepted, 'records');
  try {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const batches: Batch[] = await Promise.all(
        batchIds.map((id) => api.get('/v1/batches/{id}', { params: { path: { id } } })),
      );
      processingBar.update(batches.reduce((sum, batch) => sum + processedRecords(batch), 0));
      if (batches.every((batch) => batch.state === 'completed')) return batches;
      if (Date.now() > deadline) throw new CliError('the face workers did not finish the batches in 10 minutes');
      await sleep(500);
    }
  } finally {
    processingBar.stop();
  }
}

/**
 * Polls the clusters until every face is in one (5 minutes at most), asking the cluster worker for a sweep when
 * nothing moves for STALL_MS; then waits until the block candidates stop changing (verdicts follow the clusters).
 */
export async function waitForClustering(api: ApiClient, clusterQueue: JobQueueRepository, faces: number) {
  const clusterBar = progressBar('clustering', faces, 'faces');
  const clusterWarnings: string[] = [];
  let candidates: CandidateView[] = [];
  try {
    const deadline = Date.now() + 5 * 60_000;
    let clustered = 0;
    let lastChange = { clustered: -1, at: Date.now() };
    while (clustered < faces && Date.now() < deadline) {
      const clusters = await listAll(api, '/v1/clusters', { sort: 'id' });
      clustered = clusters.reduce((sum, cluster) => sum + cluster.size, 0);
      clusterBar.update(Math.min(clustered, faces));
      if (clustered !== lastChange.clustered) lastChange = { clustered, at: Date.now() };
      if (clustered < faces && Date.now() - lastChange.at > STALL_MS) {
        // The cluster worker takes up a face stored out of id order (two face worker processes) on its next
        // sweep (ClusterService's straggler window); ask for one now rather than wait for its period.
        clusterWarnings.push(
          `clustering made no progress at ${clustered}/${faces} faces for ${STALL_MS / 1000} s; asked for a sweep`,
        );
        await clusterQueue.add([clusterSweepJob(`demo-${Date.now()}`)]);
        lastChange = { clustered, at: Date.now() };
      }
      if (clustered < faces) await sleep(500);
    }
    if (clustered < faces) throw new CliError(`only ${clustered} of ${faces} faces were clustered in 5 minutes`);
    // Verdicts are saved just after the cluster changes: wait until the candidate list stops changing.
    let previous = '';
    for (let i = 0; i < 60; i++) {
      candidates = await listAll(api, '/v1/block-candidates');
      const fingerprint = JSON.stringify(candidates.map((c) => [c.msisdn, c.clusterId, c.reasons]).sort());
      if (fingerprint === previous) break;
      previous = fingerprint;
      await sleep(1_000);
    }
  } finally {
    clusterBar.stop();
  }
  return { candidates, warnings: clusterWarnings };
}

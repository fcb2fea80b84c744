import { copyFile, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { childProcessEnv, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { startServer } from '../server.js';
import { dropDatabase } from '../repositories/database.js';
import { deleteQueueKeys } from '../repositories/job-queue.repository.js';
import { runClusterWorker } from '../cluster-worker-runtime.js';
import { manifestCsv, sampleRow, type SampleRow } from './sample-batch.js';
import { ALL_SAMPLE_FACES, portrait } from './sample-portraits.js';
import type { BatchView } from '../services/batch.service.js';
import { uploadBatch } from './upload.js';
import { superviseFaceWorkers } from './worker-supervisor.js';

const IDENTITIES = 30;
const IMAGES_PER_IDENTITY = 3;

/** Up to `IMAGES_PER_IDENTITY` photos from each of the first `IDENTITIES` identity folders. */
async function datasetPhotos(dataset: string): Promise<{ identity: string; file: string }[]> {
  const identities = (await readdir(dataset, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .slice(0, IDENTITIES);
  const photos: { identity: string; file: string }[] = [];
  for (const identity of identities) {
    const files = (await readdir(path.join(dataset, identity))).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).sort();
    for (const file of files.slice(0, IMAGES_PER_IDENTITY))
      photos.push({ identity, file: path.join(dataset, identity, file) });
  }
  return photos;
}

/**
 * Without a dataset: portraits cut from the group photos inside @vladmandic/face-api, three differently
 * scaled and lit photos of each of its 21 people.
 */
async function samplePortraits(work: string): Promise<{ identity: string; file: string }[]> {
  const photos: { identity: string; file: string }[] = [];
  for (const [sample, index] of ALL_SAMPLE_FACES) {
    for (let variant = 0; variant < 3; variant++) {
      const file = path.join(work, `sample${sample}-face${index}-v${variant}.jpg`);
      await writeFile(file, await portrait(sample, index, variant));
      photos.push({ identity: `sample${sample}-face${index}`, file });
    }
  }
  return photos;
}

/**
 * The main job end to end on real photos: start the API, register an operator, upload a batch in which every
 * photo is a subscriber with its own name and document (so each identity with several photos is a planted
 * fraud ring), plus a few bad rows, and show what simsift made of it.
 */
export async function runDemo(baseConfig: Config, options: { dataset: string }): Promise<void> {
  // A fresh database, data dir and queues every run (`<database>_demo`): the demo shows one batch's story,
  // not whatever earlier runs left behind.
  const demoDatabase = new URL(baseConfig.databaseUrl);
  demoDatabase.pathname = `${demoDatabase.pathname}_demo`;
  const config: Config = {
    ...baseConfig,
    databaseUrl: demoDatabase.toString(),
    dataDir: path.join(baseConfig.dataDir, 'demo'),
    queuePrefix: `${baseConfig.queuePrefix}_demo`,
  };
  await dropDatabase(config.databaseUrl);
  await deleteQueueKeys(config.redisUrl, config.queuePrefix);
  await rm(config.dataDir, { recursive: true, force: true });
  const workerEnv = childProcessEnv(config);
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const dataset = path.resolve(options.dataset);
  const hasDataset = await stat(dataset).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const work = await mkdtemp(path.join(os.tmpdir(), 'simsift-demo-'));
  const photos = hasDataset ? await datasetPhotos(dataset) : await samplePortraits(work);
  say(`simsift demo: ${photos.length} KYC photos from ${hasDataset ? dataset : 'the face-api sample photos'}`);

  const logger = createLogger({ logLevel: 'warn' });
  const server = await startServer({ ...config, host: '127.0.0.1', port: 0 }, logger);
  const workers = superviseFaceWorkers(config.workerProcesses, logger, workerEnv, { logsToStderr: true });
  let stopClusterWorker = async () => {};
  try {
    say(`starting ${config.workerProcesses} face worker processes and the cluster worker ...`);
    await workers.ready;
    const clusterWorker = await runClusterWorker(config, logger);
    stopClusterWorker = () => clusterWorker.close();
    const { container } = server;
    await container.auth.createOperator('DEMO_TSP', 'Demo Telecom', 'cli', null);
    const { key } = await container.auth.createKey({
      role: 'operator',
      operatorCode: 'DEMO_TSP',
      actor: 'cli',
      actorKeyId: null,
      label: 'demo',
    });

    const rows: SampleRow[] = [];
    const runId = Date.now() % 1_000_000;
    for (const [i, photo] of photos.entries()) {
      const name = `${photo.identity}-${path.basename(photo.file)}`;
      await copyFile(photo.file, path.join(work, name));
      rows.push(sampleRow(runId * 1000 + i, name));
    }
    // Rows an operator's export gets wrong, to show the per-row errors.
    const n = rows.length;
    await writeFile(path.join(work, 'not-a-photo.jpg'), 'this is text, not a JPEG');
    rows.push({ ...sampleRow(runId * 1000 + n, rows[0]!.photo), id_number: '234123412345' });
    rows.push({ ...sampleRow(runId * 1000 + n + 1, rows[0]!.photo), msisdn: '12345' });
    rows.push({ ...sampleRow(runId * 1000 + n + 2, 'missing.jpg') });
    rows.push({ ...sampleRow(runId * 1000 + n + 3, 'not-a-photo.jpg') });
    const manifest = path.join(work, 'manifest.csv');
    await writeFile(manifest, manifestCsv(rows));

    say(`uploading ${rows.length} rows to ${server.url}/v1/batches ...`);
    const upload = await uploadBatch({ url: server.url, key, manifest, photos: work, idempotencyKey: `demo-${runId}` });
    if (upload.status !== 202) throw new Error(`upload failed: HTTP ${upload.status} ${JSON.stringify(upload.body)}`);
    const result = upload.body as {
      batch_id: string;
      accepted: number;
      rejected: number;
      errors: { row: number; field: string; code: string; message: string }[];
    };
    say(`batch ${result.batch_id}: ${result.accepted} accepted, ${result.rejected} rejected`);
    for (const error of result.errors) say(`  row ${error.row} ${error.field}: ${error.code} (${error.message})`);

    say('face workers are processing the batch ...');
    const started = Date.now();
    let batch: BatchView;
    for (;;) {
      const status = await fetch(`${server.url}/v1/batches/${result.batch_id}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      batch = (await status.json()) as BatchView;
      if (batch.state === 'completed' || Date.now() - started > 10 * 60_000) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const seconds = (Date.now() - started) / 1000;
    say(`batch ${batch.state} in ${seconds.toFixed(1)} s (${(result.accepted / seconds).toFixed(1)} photos/s):`);
    for (const [state, count] of Object.entries(batch.counts)) if (count > 0) say(`  ${state.padEnd(16)} ${count}`);

    // Clustering follows the faces: wait until every stored face of the batch sits in a cluster.
    const pending = async () =>
      (
        await container.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM faces f JOIN kyc_records r ON r.id = f.record_id
           LEFT JOIN cluster_members m ON m.face_id = f.id WHERE r.batch_id = $1::uuid AND m.face_id IS NULL`,
          [result.batch_id],
        )
      ).rows[0]!.n;
    const clusterDeadline = Date.now() + 5 * 60_000;
    while ((await pending()) > 0 && Date.now() < clusterDeadline) await new Promise((r) => setTimeout(r, 500));
    const analyst = await container.auth.createKey({ role: 'analyst', actor: 'cli', actorKeyId: null, label: 'demo' });
    const headers = { authorization: `Bearer ${analyst.key}` };
    const flagged = (await (await fetch(`${server.url}/v1/clusters?flagged=true&limit=500`, { headers })).json()) as {
      items: { id: number; size: number; reasons: string[] }[];
    };
    const planted = new Set(photos.map((photo) => photo.identity)).size;
    say(`flagged clusters: ${flagged.items.length} (the batch plants ${planted} people, each under several names)`);
    for (const cluster of flagged.items.slice(0, 10)) {
      const detail = (await (await fetch(`${server.url}/v1/clusters/${cluster.id}`, { headers })).json()) as {
        members: { msisdn: string; name: string; idMasked: string }[];
      };
      say(`  cluster ${cluster.id} [${cluster.reasons.join(', ')}]: one face, ${cluster.size} subscribers`);
      for (const member of detail.members) say(`    ${member.msisdn}  ${member.name.padEnd(22)} ${member.idMasked}`);
    }
    if (flagged.items.length > 10) say(`  ... and ${flagged.items.length - 10} more: GET /v1/clusters?flagged=true`);
  } finally {
    await stopClusterWorker();
    await workers.stop();
    await rm(work, { recursive: true, force: true });
    await server.close();
  }
}

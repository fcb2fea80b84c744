import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { multistream } from 'pino';
import path from 'node:path';
import { childProcessEnv, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { PROJECT_ROOT } from '../paths.js';
import { startServer } from '../server.js';
import { dropDatabase, tablesAsText } from '../repositories/database.js';
import { deleteQueueKeys } from '../repositories/job-queue.repository.js';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { applyConstraintsJob } from '../jobs/job-registry.js';
import { ApiClient, listAll, type Batch } from './api-client.js';
import { formatCounts, processedRecords } from './batch-status.js';
import { CliError, EXIT, type ExitCode } from './cli-errors.js';
import { buildDemoPlan, DEMO_OPERATORS, type DemoOperator, type DemoRecord } from './demo-batch.js';
import { screenCast } from './demo-cast.js';
import { datasetSources, sampleSources, seededRandom } from './demo-photos.js';
import { filesUnder, findDocuments } from './demo-privacy.js';
import { formatScore, scoreDemo, type CandidateView } from './demo-score.js';
import { formatBytes, progressBar } from './progress.js';
import { manifestCsv } from './sample-batch.js';
import { uploadBatch, type UploadResult } from './upload.js';
import { superviseFaceWorkers } from './worker-supervisor.js';

/** Where the demo looks for labelled real faces when --faces is not given. */
export const DEFAULT_FACES_DIR = path.join(PROJECT_ROOT, '..', 'shared', 'datasets', 'faces-dev');
/** Rows per upload: each operator's records go up in a few batches, as a daily feed would. */
const ROWS_PER_UPLOAD = 40;
/** Clustering that makes no progress this long while faces wait is stuck (see the restart below). */
const STALL_MS = 15_000;

export interface DemoOptions {
  faces: string;
  seed: number;
  keepRunning: boolean;
  port: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The main job end to end: a fresh database, the API, the face workers and the cluster worker; a realistic KYC
 * batch for three operators with planted fraud (rings, a SIM-cap breach, a reused document, a reused photo,
 * photos without a face) and traps, uploaded through the HTTP API; then what the API flagged, scored against
 * the ground truth. Returns 0 when every planted case was found and nothing else was flagged, 1 otherwise.
 */
export async function runDemo(baseConfig: Config, options: DemoOptions): Promise<ExitCode> {
  const started = Date.now();
  const say = (line = '') => process.stdout.write(`${line}\n`);
  const seconds = (from: number) => `${((Date.now() - from) / 1000).toFixed(1)} s`;

  // A fresh database, data dir and queues every run (`<database>_demo`): the demo shows one story, not whatever
  // earlier runs left behind, and running it twice works.
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
    port: options.port,
  };
  await dropDatabase(config.databaseUrl);
  await deleteQueueKeys(config.redisUrl, config.queuePrefix);
  await rm(config.dataDir, { recursive: true, force: true });

  const facesDir = path.resolve(options.faces);
  const hasFaces = await stat(facesDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const sources = [...(hasFaces ? await datasetSources(facesDir) : []), ...sampleSources()];
  say(
    `simsift demo: faces from ${hasFaces ? `${facesDir} and ` : ''}the @vladmandic/face-api sample photos` +
      `${hasFaces ? '' : ` (no folder at ${facesDir}; pass --faces DIR for more people)`}, seed ${options.seed}`,
  );

  // Every log line is kept, so the report can show that no identity document reached the logs: the API's and
  // the cluster worker's at info level (every request), of which warnings and errors also go to stderr, and the
  // face workers' output as they write it.
  const logLines: Buffer[] = [];
  const keep = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk);
      done();
    },
  });
  const logSink = new PassThrough();
  logSink.on('data', (chunk: Buffer) => {
    logLines.push(chunk);
    process.stderr.write(chunk);
  });
  const logger = createLogger(
    { logLevel: 'info' },
    'simsift',
    multistream([
      { level: 'info', stream: keep },
      { level: 'warn', stream: process.stderr },
    ]),
  );
  const server = await startServer(config, logger);
  const workers = superviseFaceWorkers(config.workerProcesses, logger, childProcessEnv(config), { logSink });
  let stopClusterWorker = async () => {};
  const work = await mkdtemp(path.join(os.tmpdir(), 'simsift-demo-'));
  try {
    say(`API at ${server.url}; starting ${config.workerProcesses} face worker processes and the cluster worker`);
    // Casting runs the face models once over the source photos while the workers load theirs.
    let phase = Date.now();
    const cast = await screenCast(sources, baseConfig, path.join(baseConfig.dataDir, 'eval-cache'));
    say(
      `cast: ${cast.members.length} people from ${sources.length} source photos (${seconds(phase)}); left out ${cast.left.length}:`,
    );
    for (const left of cast.left) say(`  ${left.label}: ${left.why}`);
    const plan = await buildDemoPlan(cast.members, cast.unusable, seededRandom(options.seed));
    await workers.ready;
    let clusterWorker = await runClusterWorker(config, logger);
    stopClusterWorker = () => clusterWorker.close();

    const { container } = server;
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
    const api = new ApiClient(server.url, analyst.key);

    // Photos to disk, then each operator's rows in batches of ROWS_PER_UPLOAD through POST /v1/batches.
    for (const record of plan.records)
      if (record.photo) await writeFile(path.join(work, record.row.photo), record.photo);
    const uploads: { operator: DemoOperator; manifest: string; rows: DemoRecord[] }[] = [];
    for (const operator of DEMO_OPERATORS) {
      const rows = plan.records.filter((record) => record.operator === operator.code);
      for (let i = 0; i < rows.length; i += ROWS_PER_UPLOAD) {
        const chunk = rows.slice(i, i + ROWS_PER_UPLOAD);
        const manifest = path.join(work, `${operator.code}-${uploads.length + 1}.csv`);
        await writeFile(manifest, manifestCsv(chunk.map((record) => record.row)));
        uploads.push({ operator: operator.code, manifest, rows: chunk });
      }
    }
    const accepted = plan.records.length - plan.rejectedRows;
    const people = new Set(plan.records.map((record) => record.row.id_number)).size;
    say(
      `batch: ${plan.records.length} rows (${accepted} subscribers' connections, ${plan.rejectedRows} malformed), ` +
        `${DEMO_OPERATORS.length} operators, ${new Set(plan.records.map((r) => r.row.lsa)).size} LSAs, ` +
        `${new Set(plan.records.map((r) => r.row.pos_agent_id)).size} PoS agents, ${people} documents`,
    );
    phase = Date.now();
    const totalBytes = plan.records.reduce((sum, record) => sum + (record.photo?.length ?? 0), 0);
    const uploadBar = progressBar('upload', plan.records.length, 'rows', ' | {bytes}');
    const batchIds: string[] = [];
    const rowErrors: string[] = [];
    let sentRows = 0;
    let sentBytes = 0;
    try {
      for (const upload of uploads) {
        const result = await uploadBatch({
          url: server.url,
          key: operatorKeys.get(upload.operator),
          manifest: upload.manifest,
          photos: work,
          idempotencyKey: `demo-${path.basename(upload.manifest)}`,
          onProgress: (bytes, total) =>
            uploadBar.update(sentRows + Math.floor((upload.rows.length * bytes) / Math.max(1, total)), {
              bytes: formatBytes(sentBytes + bytes),
            }),
        });
        if (result.status !== 202) {
          throw new CliError(
            `upload of ${upload.manifest} failed: HTTP ${result.status} ${JSON.stringify(result.body)}`,
          );
        }
        const body = result.body as UploadResult;
        batchIds.push(body.batch_id);
        for (const error of body.errors) {
          rowErrors.push(`  ${upload.operator} batch row ${error.row}: ${error.field} ${error.code}`);
        }
        sentRows += upload.rows.length;
        sentBytes += upload.rows.reduce((sum, record) => sum + (record.photo?.length ?? 0), 0);
        uploadBar.update(sentRows, { bytes: formatBytes(sentBytes) });
      }
    } finally {
      uploadBar.stop();
    }
    const uploadTime = seconds(phase);
    say(`uploaded ${uploads.length} batches (${formatBytes(totalBytes)}) in ${uploadTime}; rejected rows:`);
    for (const line of rowErrors) say(line);

    // Face pipeline progress from GET /v1/batches/:id, then clustering progress from GET /v1/clusters.
    phase = Date.now();
    const processingBar = progressBar('faces', accepted, 'records');
    let batches: Batch[] = [];
    try {
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        batches = await Promise.all(batchIds.map((id) => api.get('/v1/batches/{id}', { params: { path: { id } } })));
        processingBar.update(batches.reduce((sum, batch) => sum + processedRecords(batch), 0));
        if (batches.every((batch) => batch.state === 'completed')) break;
        if (Date.now() > deadline) throw new CliError('the face workers did not finish the batches in 10 minutes');
        await sleep(500);
      }
    } finally {
      processingBar.stop();
    }
    const facesTime = seconds(phase);
    const counts: Record<string, number> = {};
    for (const batch of batches)
      for (const [state, n] of Object.entries(batch.counts)) counts[state] = (counts[state] ?? 0) + n;
    say(`face pipeline: ${accepted} records in ${facesTime}:`);
    for (const line of formatCounts({ counts })) say(line);

    phase = Date.now();
    const faces = counts.face_ready ?? 0;
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
          // A face stored while the cluster worker's watermark had passed its id is not taken up until the worker
          // rebuilds (faces from two worker processes commit out of id order): restart it and say so.
          const waiting = await container.pool.query<{ id: string; newer: string }>(
            `SELECT f.id, (SELECT count(*) FROM faces g JOIN cluster_members gm ON gm.face_id = g.id WHERE g.id > f.id)
               AS newer FROM faces f LEFT JOIN cluster_members m ON m.face_id = f.id WHERE m.face_id IS NULL`,
          );
          const ids = waiting.rows.map((row) => `${row.id} (${row.newer} newer faces clustered)`).join(', ');
          clusterWarnings.push(
            `cluster worker stalled at ${clustered}/${faces} faces for ${STALL_MS / 1000} s (unclustered face ids: ` +
              `${ids || 'none'}); restarted it`,
          );
          await clusterWorker.close();
          clusterWorker = await runClusterWorker(config, logger);
          await container.clusterQueue.add([applyConstraintsJob('demo-unclustered-faces')]);
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
    const clusterTime = seconds(phase);
    for (const warning of clusterWarnings) say(`warning: ${warning}`);

    const flagged = await listAll(api, '/v1/clusters', { flagged: true });
    const agents = await api.get('/v1/agents', { params: { query: { sort: 'risk', limit: 3 } } });
    const score = scoreDemo(plan.cases, candidates);

    say();
    say(`== simsift demo report (${batchIds.length} batches, ${accepted} records, ${people} identity documents)`);
    say(`flagged clusters: ${flagged.length}; block candidates: ${candidates.length}`);
    for (const line of formatScore(score)) say(line);
    say();
    say(`planted cases found: ${score.found}/${score.planted}`);
    say(`false alarms (flagged trap or ordinary records): ${score.falseAlarms.length}`);
    for (const alarm of score.falseAlarms) say(`  ${alarm.caseId} ${alarm.msisdn}: ${alarm.reasons.join(', ')}`);
    if (score.unknown.length > 0) say(`candidates on numbers the demo did not plant: ${score.unknown.length}`);
    say('riskiest PoS agents (share of enrolments in flagged clusters):');
    for (const agent of agents.items) {
      say(
        `  ${agent.operator} ${agent.posAgentId.padEnd(14)} ${agent.flaggedEnrolments}/${agent.enrolments} (${Math.round(agent.risk * 100)}%)`,
      );
    }
    if (clusterWarnings.length > 0) say(`cluster worker restarts: ${clusterWarnings.length} (see the warning above)`);
    say(`timings: upload ${uploadTime}, faces ${facesTime}, clustering ${clusterTime}, total ${seconds(started)}`);
    say();
    // Personal data at rest and in the logs: every table, every file the run wrote, every log line.
    const tables = await tablesAsText(container.pool);
    const logs = Buffer.concat(logLines);
    const sweep = findDocuments(
      [
        ...tables.map((table) => ({ where: `table ${table.table}`, content: table.text })),
        ...(await filesUnder(config.dataDir)).map((file) => ({ where: `file ${file.where}`, content: file.content })),
        { where: 'logs', content: logs },
      ],
      plan.records.map((record) => record.row.id_number),
    );
    const scannedMb = sweep.scanned.reduce((sum, source) => sum + source.bytes, 0) / 1024 / 1024;
    say(
      `personal data: ${sweep.leaks.length} of ${sweep.documents} identity document numbers found in plain text in ` +
        `${tables.length} tables (${tables.reduce((sum, table) => sum + table.rows, 0)} rows), ` +
        `${sweep.scanned.length - tables.length - 1} files and ${logs.toString('utf8').split('\n').filter(Boolean).length} ` +
        `log lines (${scannedMb.toFixed(1)} MB)`,
    );
    for (const leak of sweep.leaks) say(`  ${leak.document} in ${leak.where}`);
    say();
    say(`review UI: ${server.url}/ui/`);
    say(`analyst key (sign in with it): ${analyst.key}`);
    const ok = score.ok && sweep.leaks.length === 0;
    say(ok ? 'RESULT: PASS (every planted case found, no false alarm, no document in plain text)' : 'RESULT: FAIL');
    const exitCode: ExitCode = ok ? EXIT.ok : EXIT.failure;

    if (options.keepRunning) {
      say('the API and the workers keep running; press Ctrl+C to stop');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
    return exitCode;
  } finally {
    await stopClusterWorker();
    await workers.stop();
    await rm(work, { recursive: true, force: true });
    await server.close();
  }
}

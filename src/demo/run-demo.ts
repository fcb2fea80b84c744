import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PassThrough, Writable } from 'node:stream';
import { multistream } from 'pino';
import path from 'node:path';
import { childProcessEnv, type Config } from '../config.js';
import { createLogger } from '../logger.js';
import { PROJECT_ROOT } from '../paths.js';
import { startServer } from '../server.js';
import { tablesAsText } from '../repositories/database.js';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { ApiClient, listAll } from '../cli/api-client.js';
import { formatCounts } from '../cli/batch-status.js';
import { CliError, EXIT, type ExitCode } from '../cli/cli-errors.js';
import { buildDemoPlan, DEMO_OPERATORS, type DemoOperator, type DemoRecord } from './demo-batch.js';
import { screenCast } from './demo-cast.js';
import { datasetSources, sampleSources, seededRandom } from './demo-photos.js';
import { filesUnder, findDocuments } from './demo-privacy.js';
import { formatScore, scoreDemo } from './demo-score.js';
import { formatBytes, progressBar } from '../cli/progress.js';
import { createDemoKeys, freshDemoConfig, waitForClustering, waitForFacePipeline } from './demo-phases.js';
import { manifestCsv } from './sample-batch.js';
import { uploadBatch, type UploadResult } from '../cli/upload.js';
import { superviseFaceWorkers } from '../cli/worker-supervisor.js';

/** Where the demo looks for labelled real faces when --faces is not given. */
export const DEFAULT_FACES_DIR = path.join(PROJECT_ROOT, '..', 'shared', 'datasets', 'faces-dev');
/** Rows per upload: each operator's records go up in a few batches, as a daily feed would. */
const ROWS_PER_UPLOAD = 40;

export interface DemoOptions {
  faces: string;
  seed: number;
  keepRunning: boolean;
  port: number;
}

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

  const config = await freshDemoConfig(baseConfig, options.port);

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
    const clusterWorker = await runClusterWorker(config, logger);
    stopClusterWorker = () => clusterWorker.close();

    const { container } = server;
    const { operatorKeys, analyst } = await createDemoKeys(container);
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
    const batches = await waitForFacePipeline(api, batchIds, accepted);
    const facesTime = seconds(phase);
    const counts: Record<string, number> = {};
    for (const batch of batches)
      for (const [state, n] of Object.entries(batch.counts)) counts[state] = (counts[state] ?? 0) + n;
    say(`face pipeline: ${accepted} records in ${facesTime}:`);
    for (const line of formatCounts({ counts })) say(line);

    phase = Date.now();
    const faces = counts.face_ready ?? 0;
    const { candidates, warnings: clusterWarnings } = await waitForClustering(api, container.clusterQueue, faces);
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
    if (clusterWarnings.length > 0) say(`cluster sweeps asked for: ${clusterWarnings.length} (see the warning above)`);
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

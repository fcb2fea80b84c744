import { createHmac } from 'node:crypto';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApiClient, listAll } from '../cli/api-client.js';
import { manifestCsv, type SampleRow } from '../demo/sample-batch.js';
import { uploadBatch, type UploadResult } from '../cli/upload.js';
import type { Config } from '../config.js';
import { FaceEngine, type EmbedderName } from '../repositories/face-engine/face-engine.repository.js';
import type { FaceQuality } from '../repositories/face.repository.js';
import { ExactIndex } from '../services/clustering/face-clusterer.js';
import { labelledDistances } from './verification-accuracy.js';
import { fitFaceEvidence, type FaceEvidenceCalibration } from '../services/rules/face-evidence.js';
import { personCandidates, resolveInGallery } from '../services/rules/person-rules.js';
import { NO_USABLE_FACE_SCORE } from '../services/rules/rules.service.js';
import {
  DEFAULT_IDENTITY_POLICY,
  type IdentityPolicy,
  type SubscriberRecord,
} from '../services/rules/identity-graph.js';
import { listPhotos, runPipelineOnFiles } from './in-process-pipeline.js';
import { seededRandom } from './seeded-random.js';
import { halfOf, photosByPerson, planScenario, type Scenario } from './scenario.js';
import { scoreScenario, type ScoredCandidate } from './scenario-score.js';

export interface ScenarioEvalOptions {
  dataset: string;
  seed?: number;
  /** People of one half only (thresholds are chosen on `tune` and reported on `report`), or everyone. */
  half?: 'tune' | 'report' | 'all';
  embedder?: EmbedderName;
  /** Overrides of the identity policy, for choosing it on the tune half. */
  policy?: Partial<Omit<IdentityPolicy, 'calibration'>>;
  /** Fit the face evidence on the labelled photos of the chosen half instead of using the manifest's. */
  fitEvidence?: boolean;
  /** A loaded engine to reuse across runs (the models load once per process). */
  engine?: FaceEngine;
}

/**
 * The scenario evaluation, in process: plans a KYC batch from `<identity>/<image>` photos, runs the real face
 * pipeline on its photos (cached per model and photo) and the identity graph and rules on the result, and scores
 * the candidates against the ground truth.
 */
export async function runScenarioEval(
  config: Config,
  calibration: FaceEvidenceCalibration | undefined,
  options: ScenarioEvalOptions,
) {
  const started = performance.now();
  const { scenario, people } = await buildScenario(options);
  const engine =
    options.engine ??
    (await FaceEngine.create({
      embedder: options.embedder ?? config.faces.embedder,
      allowCpuBackend: config.faces.allowCpuBackend,
    }));
  const cacheDir = path.join(config.dataDir, 'eval-cache');
  // Every photo of the half's people is embedded: the scenario's, and the rest for fitting the evidence.
  const allFiles = [...people.values()].flat();
  const results = await runPipelineOnFiles(allFiles, engine, config, { cacheDir });
  const resultOf = new Map(results.map((result) => [result.file, result]));
  const { metric } = engine.embedder;

  let evidence = calibration;
  if (options.fitEvidence || !evidence) {
    const dataset = path.resolve(options.dataset);
    const labelled = results.flatMap((result) =>
      result.embedding
        ? [{ embedding: result.embedding, identity: path.relative(dataset, result.file).split(path.sep)[0]! }]
        : [],
    );
    const { genuine, impostor } = labelledDistances(labelled, metric);
    evidence = fitFaceEvidence(genuine, impostor, `${options.half ?? 'all'} half of ${path.basename(options.dataset)}`);
  }
  const policy: IdentityPolicy = { ...DEFAULT_IDENTITY_POLICY, ...options.policy, calibration: evidence };

  const hmacKey = 'scenario';
  const records: SubscriberRecord[] = scenario.records.map((record, i) => ({
    recordId: i + 1,
    msisdn: record.row.msisdn,
    name: record.row.name,
    fatherName: record.row.father_name || null,
    dob: record.row.dob || null,
    idHmac: createHmac('sha256', hmacKey).update(`${record.row.id_type}:${record.row.id_number}`).digest('hex'),
    lsa: record.row.lsa,
    posAgentId: record.row.pos_agent_id,
    activationDate: record.row.activation_date,
    faceId: resultOf.get(record.photo)?.embedding ? i + 1 : null,
    faceQuality: qualityOf(resultOf.get(record.photo)?.quality ?? null),
  }));
  const index = new ExactIndex(metric);
  const vectors = new Map<number, Float32Array>();
  for (const record of records) {
    if (record.faceId === null) continue;
    const vector = resultOf.get(scenario.records[record.recordId - 1]!.photo)!.embedding!;
    vectors.set(record.faceId, vector);
    index.add(record.faceId, vector);
  }
  const gallery = {
    metric,
    size: index.size,
    vectorOf: (faceId: number) => vectors.get(faceId),
    searchMany: index.searchMany.bind(index),
  };
  const persons = resolveInGallery(records, gallery, policy);
  const candidates: ScoredCandidate[] = [];
  const byRecord = new Map(records.map((record) => [record.recordId, record]));
  for (const candidate of personCandidates(persons)) {
    candidates.push({
      msisdn: byRecord.get(candidate.recordId)!.msisdn,
      reasons: candidate.reasons,
      score: candidate.score,
    });
  }
  for (const record of records) {
    if (record.faceId === null)
      candidates.push({ msisdn: record.msisdn, reasons: ['NO_USABLE_FACE'], score: NO_USABLE_FACE_SCORE });
  }
  const withoutFace = new Set(records.filter((record) => record.faceId === null).map((record) => record.msisdn));
  return {
    dataset: path.resolve(options.dataset),
    half: options.half ?? 'all',
    seed: options.seed ?? 1,
    embedder: `${engine.embedder.name} (${engine.embedder.version})`,
    mode: 'in_process',
    people: people.size,
    gallery_faces: gallery.size,
    evidence,
    policy: { ...policy, calibration: undefined },
    ...scoreScenario(scenario, candidates, withoutFace),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}

/** The measures of a face's quality the rules read. */
function qualityOf(quality: FaceQuality | null): SubscriberRecord['faceQuality'] {
  return quality ? { blur: quality.blur, yaw: quality.yaw } : null;
}

/** The scenario of one half (or all) of the dataset's people, planned with `seed`. */
export async function buildScenario(options: Pick<ScenarioEvalOptions, 'dataset' | 'seed' | 'half'>): Promise<{
  scenario: Scenario;
  people: Map<string, string[]>;
}> {
  const dataset = path.resolve(options.dataset);
  const files = await listPhotos(dataset);
  if (files.length === 0) throw new Error(`no photos under ${dataset}`);
  const all = photosByPerson(dataset, files);
  const half = options.half ?? 'all';
  const people = new Map([...all].filter(([person]) => half === 'all' || halfOf(person) === half));
  return { scenario: planScenario(people, seededRandom(options.seed ?? 1)), people };
}

/**
 * The scenario through a running simsift: uploads the batch with an operator key (`POST /v1/batches`), waits
 * for the face workers and the cluster worker, and scores `GET /v1/block-candidates`. Run it against a fresh
 * database: numbers flagged before the upload would be scored too.
 */
export async function runScenarioOverApi(options: ScenarioEvalOptions & { url: string; key: string }) {
  const started = performance.now();
  const { scenario, people } = await buildScenario(options);
  const api = new ApiClient(options.url, options.key);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'simsift-scenario-'));
  try {
    const rows: SampleRow[] = [];
    for (const [i, record] of scenario.records.entries()) {
      const photo = `${i + 1}${path.extname(record.photo).toLowerCase()}`;
      await copyFile(record.photo, path.join(dir, photo));
      rows.push({ ...record.row, photo });
    }
    const manifest = path.join(dir, 'manifest.csv');
    await writeFile(manifest, manifestCsv(rows));
    const upload = await uploadBatch({
      url: options.url,
      key: options.key,
      manifest,
      photos: dir,
      idempotencyKey: `scenario-${options.half ?? 'all'}-${options.seed ?? 1}-${Date.now()}`,
    });
    if (upload.status !== 202) throw new Error(`upload failed: HTTP ${upload.status} ${JSON.stringify(upload.body)}`);
    const body = upload.body as UploadResult;
    if (body.rejected > 0) throw new Error(`the API rejected ${body.rejected} rows: ${JSON.stringify(body.errors)}`);
    const deadline = Date.now() + 30 * 60_000;
    for (;;) {
      const batch = await api.get('/v1/batches/{id}', { params: { path: { id: body.batch_id } } });
      if (batch.state === 'completed') break;
      if (Date.now() > deadline) throw new Error('the face workers did not finish the batch in 30 minutes');
      process.stderr.write(`scenario: faces ${Math.round(batch.progress * 100)}%\n`);
      await sleep(2_000);
    }
    // The cluster worker writes verdicts after the faces: wait until the candidates stop changing for 5 s.
    let candidates: { msisdn: string; reasons: string[]; score: number }[] = [];
    let previous = '';
    let stable = 0;
    while (stable < 5 && Date.now() < deadline) {
      candidates = await listAll(api, '/v1/block-candidates');
      const fingerprint = JSON.stringify(candidates.map((c) => [c.msisdn, c.reasons, c.score]).sort());
      stable = fingerprint === previous ? stable + 1 : 0;
      previous = fingerprint;
      await sleep(1_000);
    }
    const withoutFace = new Set(candidates.filter((c) => c.reasons.includes('NO_USABLE_FACE')).map((c) => c.msisdn));
    return {
      dataset: path.resolve(options.dataset),
      half: options.half ?? 'all',
      seed: options.seed ?? 1,
      mode: 'api',
      api: options.url,
      batch_id: body.batch_id,
      people: people.size,
      ...scoreScenario(scenario, candidates, withoutFace),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

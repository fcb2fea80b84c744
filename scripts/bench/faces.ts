/**
 * Face worker bench: "at least 20 KYC photos/s with 2 processes on 2 cores (an idle machine), RSS flat
 * (within 10%) from photo 1,000 to photo 10,000" (issue 18; the first round's target was 6).
 *
 *   npm run -s bench -- faces [--images DIR] [--processes 2] [--count 1000] [--reference-count N]
 *
 * Records are ingested through the ingest service (as the API ingests an upload) into a private database, data
 * dir and queue prefix, with the faces queue paused. Then `--processes` face workers start through the
 * production supervisor; once every one has loaded its models the queue is resumed and the clock starts, so
 * model load (reported apart) is not in the rate. The run ends when every record is in a final state. Stage
 * times come from the completed jobs' return values; worker RSS is read from /proc every second.
 *
 * Then face-api's own pipeline as it ships (SSD, 68 landmarks, descriptor, all on tfjs) runs over the first
 * `--reference-count` photos of the same rows (default: all, at most 300; 0 skips it) in as many processes, and
 * `vs_reference` gives the ratios of the two: on a machine shared with other work they vary far less than the
 * rates themselves.
 *
 * Input: `--images DIR` uses the photos under DIR (recursive), cycled when there are fewer than `--count`;
 * by default, `--count` distinct KYC-like portraits generated from the face-api sample photos (cached in the
 * system temp dir, see lib/kyc-photos.ts).
 */
import { createReadStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { sampleRow, manifestCsv } from '../../src/demo/sample-batch.js';
import { superviseFaceWorkers, type Supervisor } from '../../src/cli/worker-supervisor.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { QueueName } from '../../src/jobs/job-registry.js';
import { createLogger } from '../../src/logger.js';
import { createPool, migrate, type Pool } from '../../src/repositories/database.js';
import { loadTensorflow } from '../../src/repositories/face-engine/tensorflow.js';
import type { Stage } from '../../src/services/face-pipeline.service.js';
import type { UploadPart } from '../../src/services/ingest.service.js';
import { FINAL_RECORD_STATES, isFinalRecordState } from '../../src/services/record-states.js';
import { createBenchEnv, log, MIB, round, type BenchEnv } from './lib/env.js';
import { integerOption } from './lib/options.js';
import { runFaceApiReference, type ReferenceResult } from './lib/face-api-reference.js';
import { folderPhotos, generatedPhotos, type PhotoSet } from './lib/kyc-photos.js';
import { machineBusySeconds, ProcessSampler } from './lib/process-stats.js';

const TARGET = { images_per_s: 20, rss_growth_pct: 10 } as const;
/**
 * RSS growth is judged from this many photos on (the first ones grow the wasm heap and caches to their working
 * size), and only in runs that process at least as many again after it.
 */
const RSS_BASE_PHOTOS = 1_000;
const OPERATOR_CODE = 'BENCH';
const SAMPLE_MS = 1_000;
const PROGRESS_MS = 10_000;
/** No record finishing for this long means the workers are stuck: fail instead of waiting forever. */
const STALL_MS = 180_000;
const JOB_PAGE = 1_000;
const STAGES: readonly Stage[] = [
  'read',
  'decode',
  'detect',
  'landmarks',
  'quality',
  'descriptor',
  'thumbnail',
  'phash',
  'db',
];

interface Options {
  images: string | null;
  processes: number;
  count: number;
  referenceCount: number;
}

/** Photos the face-api reference runs on by default, at most (it is several times slower than the workers). */
const REFERENCE_MAX_PHOTOS = 300;

export interface Quantiles {
  p50: number;
  p95: number;
  mean: number;
  /** Jobs that ran the stage (e.g. only photos with a usable face reach `descriptor`). */
  n: number;
}

export interface ProcessRss {
  pid: number;
  start: number;
  at_1000: number | null;
  end: number;
  max: number;
  /** CPU seconds (user + system) the process used during the run. */
  cpu_s: number;
}

export interface FacesBenchResult {
  bench: 'faces';
  backend: string;
  simd: boolean;
  processes: number;
  images: number;
  /** Records that ended `face_ready`. */
  faces: number;
  states: Record<string, number>;
  no_face_rate: number;
  /** From the queue's resume (every worker ready) to the last job's finish. */
  seconds: number;
  images_per_s: number;
  faces_per_s: number;
  /** Forking the workers until every one has loaded its models and is taking jobs. */
  model_load_s: number;
  /** Per photo, from each job's own timings; `total` is their sum, `job` the job's wall time in the worker. */
  stage_ms: Record<Stage | 'total' | 'job', Quantiles>;
  /** Share of all stage time each stage took. */
  stage_share_pct: Record<Stage, number>;
  /** Time the workers spent inside jobs, over the run's wall time times the processes. */
  worker_busy_pct: number;
  /**
   * CPU over the run, as shares of the machine (wall time x cores): the workers', and everything else's
   * (Postgres, Redis, this process, other users). Stage times are wall times, so a busy machine inflates them;
   * `worker_cpu_ms_per_image` is what one photo costs a worker in CPU.
   */
  cpu: {
    cores: number;
    worker_cpu_s: number;
    worker_cpu_ms_per_image: number;
    workers_pct: number;
    others_pct: number | null;
    load_avg_1m: { start: number; end: number };
  };
  rss_mb: {
    per_process: ProcessRss[];
    /** Largest growth of any process from photo 1,000 to the end; null for runs under 2,000 photos. */
    growth_from_1000_pct: number | null;
    /** Largest growth of any process from the middle of the run to its end: the trend of a short run. */
    growth_second_half_pct: number | null;
    growth_from_start_pct: number | null;
    /**
     * Every starting process's RSS (null once gone) each time another 1,000 photos were done, or every tenth of
     * the run (at least 100 photos) in runs under 10,000.
     */
    milestones: Milestone[];
  };
  target: typeof TARGET;
  /** Throughput reached, every record final, no failed job, and RSS flat when the run was long enough to tell. */
  pass: boolean;
  checks: { throughput: boolean; complete: boolean; rss_flat: boolean | null };
  failed_jobs: number;
  failed_reasons: string[];
  worker_restarts: number;
  input: { source: string; photo_files: number; bases: number | null; cache_dir: string | null };
  ingest_s: number;
  /** face-api's own pipeline on the first rows' photos, after the workers stopped; null with --reference-count 0. */
  reference: ReferenceResult | null;
  /**
   * This pipeline against face-api's: photos/s over the reference's photos/s, and the reference's worker CPU-ms per
   * photo over this pipeline's (both above 1 when this one is faster).
   */
  vs_reference: { images_per_s_ratio: number; cpu_ms_ratio: number } | null;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      images: { type: 'string' },
      processes: { type: 'string', default: '2' },
      count: { type: 'string', default: '1000' },
      'reference-count': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const processes = integerOption('processes', values.processes, 1, 64);
  const count = integerOption('count', values.count, 1, 1_000_000);
  const referenceCount = integerOption(
    'reference-count',
    values['reference-count'] ?? String(Math.min(count, REFERENCE_MAX_PHOTOS)),
    0,
    count,
  );
  return { images: values.images ?? null, processes, count, referenceCount };
}

export async function run(argv: string[]): Promise<FacesBenchResult> {
  const options = parseOptions(argv);
  const photos = options.images ? await folderPhotos(options.images) : await generatedPhotos(options.count);
  const env = await createBenchEnv('faces');
  // Ctrl-C must not leave a database, queue keys and worker processes behind.
  const interrupted = () => {
    log('interrupted: cleaning up');
    void env.cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await measure(env, options, photos);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await env.cleanup();
  }
}

async function measure(env: BenchEnv, options: Options, photos: PhotoSet): Promise<FacesBenchResult> {
  // Workers log at `error` only: the supervisor gives them this process's stdout, which carries the result.
  const workerEnv = env.serverEnv(undefined, { LOG_LEVEL: 'error' });
  const config = loadConfig(workerEnv);
  await migrate(env.databaseUrl);

  const connection = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QueueName.Faces, { connection, prefix: env.queuePrefix });
  env.onCleanup(async () => {
    await queue.close();
    connection.disconnect();
  });
  // Jobs wait until every worker is ready: the rate must not include model loading.
  await queue.pause();

  const ingestStarted = performance.now();
  await ingestRecords(config, photos, options.count);
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  log(`${options.count} records queued in ${round(ingestSeconds)} s`);

  // The workers load the same way from the same packages, so this process sees their backend.
  const { backend, simd } = await loadTensorflow({ allowCpu: config.faces.allowCpuBackend });

  const logger = createLogger({ logLevel: 'warn' }, 'bench-faces', pino.destination({ dest: 2, sync: true }));
  const loadStarted = performance.now();
  const supervisor = superviseFaceWorkers(options.processes, logger, workerEnv, { logsToStderr: true });
  env.onCleanup(() => supervisor.stop());
  await supervisor.ready;
  const modelLoadSeconds = (performance.now() - loadStarted) / 1000;
  const sampler = new ProcessSampler();
  const startPids = supervisor.pids();
  await sampler.sample(startPids);
  log(
    `${options.processes} workers ready in ${round(modelLoadSeconds)} s (${backend}, simd ${simd}); resuming the queue`,
  );

  const pool = createPool(env.databaseUrl, 1);
  env.onCleanup(() => pool.end());
  const startedAt = Date.now();
  const machineStart = await machineBusySeconds();
  const loadStart = os.loadavg()[0]!;
  await queue.resume();
  const progress = await waitForRecords(pool, queue, supervisor, sampler, startPids, options.count, startedAt);
  await waitForQueue(queue, options.count);
  await sampler.sample(supervisor.pids());
  const machineEnd = await machineBusySeconds();
  const sampledUntil = Date.now();
  const loadEnd = os.loadavg()[0]!;
  await supervisor.stop();
  // Row i's photo is file i % files, as ingestRecords sends them.
  const reference =
    options.referenceCount > 0
      ? await runFaceApiReference(
          Array.from({ length: options.referenceCount }, (_v, i) => photos.files[i % photos.files.length]!),
          options.processes,
          { maxSide: config.faces.detectionMaxSide, allowCpuBackend: config.faces.allowCpuBackend },
        )
      : null;

  const jobs = await completedJobs(queue);
  const failed = await queue.getJobs(['failed'], 0, 9);
  const failedCount = await queue.getJobCountByTypes('failed');
  const lastFinish = jobs.reduce((last, job) => Math.max(last, job.finishedOn ?? 0), 0);
  const seconds = ((lastFinish > 0 ? lastFinish : progress.endedAt) - startedAt) / 1000;

  const states = progress.states;
  const images = FINAL_RECORD_STATES.reduce((sum, state) => sum + (states[state] ?? 0), 0);
  const faces = states.face_ready ?? 0;
  const timings = stageTimings(jobs);
  const busyMs = timings.job.reduce((sum, ms) => sum + ms, 0);

  const tracks = sampler.all();
  const perProcess: ProcessRss[] = tracks.map((track) => ({
    pid: track.pid,
    start: toMb(track.start),
    at_1000: progress.rssAt1000.has(track.pid) ? toMb(progress.rssAt1000.get(track.pid)!) : null,
    end: toMb(track.end),
    max: toMb(track.max),
    cpu_s: round(track.cpuEnd - track.cpuStart, 2),
  }));
  const workerCpu = tracks.reduce((sum, track) => sum + track.cpuEnd - track.cpuStart, 0);
  const cores = os.availableParallelism();
  const wallCpu = ((sampledUntil - startedAt) / 1000) * cores;
  const growth = (from: (p: ProcessRss) => number | null) => {
    const values = perProcess
      .filter((p) => startPids.includes(p.pid))
      .map((p) => {
        const base = from(p);
        return base === null || base <= 0 ? null : ((p.end - base) / base) * 100;
      });
    return values.some((v) => v === null) || values.length === 0 ? null : round(Math.max(...(values as number[])), 1);
  };
  const growthFrom1000 = options.count >= 2 * RSS_BASE_PHOTOS ? growth((p) => p.at_1000) : null;
  const middle = progress.milestones.find((milestone) => milestone.photos >= options.count / 2);
  const growthSecondHalf = middle ? growth((p) => middle.rss[startPids.indexOf(p.pid)] ?? null) : null;

  const imagesPerS = images / seconds;
  const workerCpuMsPerImage = (workerCpu * 1000) / Math.max(1, images);
  const complete = images === options.count && failedCount === 0;
  const checks = {
    throughput: imagesPerS >= TARGET.images_per_s,
    complete,
    rss_flat: growthFrom1000 === null ? null : growthFrom1000 <= TARGET.rss_growth_pct,
  };
  return {
    bench: 'faces',
    backend,
    simd,
    processes: options.processes,
    images,
    faces,
    states,
    no_face_rate: round((states.no_face ?? 0) / Math.max(1, images), 4),
    seconds: round(seconds, 2),
    images_per_s: round(imagesPerS, 2),
    faces_per_s: round(faces / seconds, 2),
    model_load_s: round(modelLoadSeconds, 2),
    stage_ms: Object.fromEntries(
      [...STAGES, 'total' as const, 'job' as const].map((stage) => [stage, quantiles(timings[stage])]),
    ) as FacesBenchResult['stage_ms'],
    stage_share_pct: shares(timings),
    worker_busy_pct: round((busyMs / (seconds * 1000 * options.processes)) * 100, 1),
    cpu: {
      cores,
      worker_cpu_s: round(workerCpu, 2),
      worker_cpu_ms_per_image: round(workerCpuMsPerImage, 1),
      workers_pct: round((workerCpu / wallCpu) * 100, 1),
      others_pct:
        machineStart === null || machineEnd === null
          ? null
          : round(((machineEnd - machineStart - workerCpu) / wallCpu) * 100, 1),
      load_avg_1m: { start: round(loadStart, 2), end: round(loadEnd, 2) },
    },
    rss_mb: {
      per_process: perProcess,
      growth_from_1000_pct: growthFrom1000,
      growth_second_half_pct: growthSecondHalf,
      growth_from_start_pct: growth((p) => p.start),
      milestones: progress.milestones,
    },
    target: TARGET,
    pass: checks.throughput && checks.complete && checks.rss_flat !== false,
    checks,
    failed_jobs: failedCount,
    failed_reasons: failed.map((job) => `${job.id}: ${job.failedReason}`),
    worker_restarts: Math.max(0, tracks.length - startPids.length),
    input: {
      source: photos.source,
      photo_files: Math.min(photos.files.length, options.count),
      bases: photos.bases,
      cache_dir: photos.cacheDir,
    },
    ingest_s: round(ingestSeconds, 2),
    reference,
    vs_reference: reference
      ? {
          images_per_s_ratio: round(imagesPerS / reference.images_per_s, 2),
          cpu_ms_ratio: round(reference.cpu_ms_per_image / workerCpuMsPerImage, 2),
        }
      : null,
  };
}

// --- records ------------------------------------------------------------------------------------------------

/**
 * Ingests `count` records through the ingest service, as the API would for uploads of at most
 * `maxRowsPerBatch` rows: photo `i % files` for row `i`, each file sent once per batch that uses it.
 */
async function ingestRecords(config: Config, photos: PhotoSet, count: number): Promise<void> {
  const container = createContainer(config, {
    warn: (details, message) => log(`${message} ${JSON.stringify(details)}`),
  });
  try {
    const { operator } = await container.auth.createOperator(OPERATOR_CODE, 'Bench Telecom', 'bench', null);
    const photoName = (file: number) => `photo_${String(file).padStart(6, '0')}${path.extname(photos.files[file]!)}`;
    const perBatch = config.upload.maxRowsPerBatch;
    let queued = 0;
    for (let first = 0; first < count; first += perBatch) {
      const rows = Math.min(perBatch, count - first);
      const files = [...new Set(Array.from({ length: rows }, (_v, k) => (first + k) % photos.files.length))];
      const manifest = manifestCsv(
        Array.from({ length: rows }, (_v, k) => sampleRow(first + k + 1, photoName((first + k) % photos.files.length))),
      );
      async function* parts(): AsyncGenerator<UploadPart> {
        yield { kind: 'manifest', content: Buffer.from(manifest) };
        for (const file of files) {
          yield { kind: 'photo', name: photoName(file), stream: createReadStream(photos.files[file]!) };
        }
      }
      const outcome = await container.ingest.ingest({
        operatorId: operator.id,
        apiKeyId: null,
        actor: 'bench',
        idempotencyKey: null,
        source: 'multipart',
        parts: parts(),
      });
      if (outcome.accepted !== rows) {
        throw new Error(
          `the ingest service accepted ${outcome.accepted} of ${rows} rows: ${JSON.stringify(outcome.errors.slice(0, 5))}`,
        );
      }
      queued += outcome.queued;
    }
    // Records the upload could not queue in time wait for the reconciler; run it now as the API would later.
    if (queued < count) queued += await container.ingest.reconcile();
    if (queued < count) throw new Error(`only ${queued} of ${count} records reached the queue`);
  } finally {
    await container.close();
  }
}

interface Progress {
  states: Record<string, number>;
  endedAt: number;
  rssAt1000: Map<number, number>;
  milestones: Milestone[];
}

interface Milestone {
  photos: number;
  seconds: number;
  /** MiB, one per starting worker. */
  rss: (number | null)[];
}

/** Polls record states and worker RSS once a second until every record is final (or its job failed for good). */
async function waitForRecords(
  pool: Pool,
  queue: Queue,
  supervisor: Supervisor,
  sampler: ProcessSampler,
  startPids: readonly number[],
  count: number,
  startedAt: number,
): Promise<Progress> {
  const rssAt1000 = new Map<number, number>();
  const milestones: Milestone[] = [];
  const step = count >= 10 * RSS_BASE_PHOTOS ? RSS_BASE_PHOTOS : Math.max(100, Math.ceil(count / 1000) * 100);
  let nextMilestone = step;
  let lastDone = 0;
  let lastChange = Date.now();
  let lastLog = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    const states = await stateCounts(pool);
    const done = Object.entries(states).reduce((sum, [state, n]) => sum + (isFinalRecordState(state) ? n : 0), 0);
    const failed = await queue.getJobCountByTypes('failed');
    const now = Date.now();
    const rss = await sampler.sample(supervisor.pids());
    if (done >= RSS_BASE_PHOTOS && rssAt1000.size === 0) for (const [pid, bytes] of rss) rssAt1000.set(pid, bytes);
    while (done >= nextMilestone) {
      milestones.push({
        photos: nextMilestone,
        seconds: round((now - startedAt) / 1000, 1),
        rss: startPids.map((pid) => (rss.has(pid) ? toMb(rss.get(pid)!) : null)),
      });
      nextMilestone += step;
    }
    if (done !== lastDone) {
      lastDone = done;
      lastChange = now;
    }
    if (now - lastLog >= PROGRESS_MS) {
      lastLog = now;
      const elapsed = (now - startedAt) / 1000;
      log(
        `${done}/${count} done, ${round(done / elapsed, 2)} photos/s, RSS ${[...rss.values()].map(toMb).join(' / ')} MiB` +
          (failed > 0 ? `, ${failed} failed` : ''),
      );
    }
    if (done + failed >= count) return { states, endedAt: now, rssAt1000, milestones };
    if (now - lastChange > STALL_MS) {
      throw new Error(
        `no record finished for ${STALL_MS / 1000} s (${done}/${count} done, states ${JSON.stringify(states)})`,
      );
    }
  }
}

async function stateCounts(pool: Pool): Promise<Record<string, number>> {
  const result = await pool.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM kyc_records GROUP BY 1 ORDER BY 1',
  );
  return Object.fromEntries(result.rows.map((row) => [row.state, row.n]));
}

/** A record turns final inside its job, just before BullMQ marks the job done: wait for the queue to agree. */
async function waitForQueue(queue: Queue, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const counts = await queue.getJobCounts('completed', 'failed');
    if ((counts.completed ?? 0) + (counts.failed ?? 0) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  log('warning: the queue still had unfinished jobs 30 s after every record was final');
}

// --- timings ------------------------------------------------------------------------------------------------

interface JobResult {
  state: string | null;
  faceId: number | null;
  timings: Partial<Record<Stage, number>>;
}

async function completedJobs(queue: Queue): Promise<Job<unknown, JobResult>[]> {
  const jobs: Job<unknown, JobResult>[] = [];
  for (let start = 0; ; start += JOB_PAGE) {
    const page = (await queue.getJobs(['completed'], start, start + JOB_PAGE - 1, true)) as Job<unknown, JobResult>[];
    jobs.push(...page);
    if (page.length < JOB_PAGE) return jobs;
  }
}

function stageTimings(jobs: readonly Job<unknown, JobResult>[]): Record<Stage | 'total' | 'job', number[]> {
  const timings = Object.fromEntries([...STAGES, 'total', 'job'].map((stage) => [stage, [] as number[]])) as Record<
    Stage | 'total' | 'job',
    number[]
  >;
  for (const job of jobs) {
    const stages = (job.returnvalue as JobResult | null)?.timings ?? {};
    let total = 0;
    for (const stage of STAGES) {
      const ms = stages[stage];
      if (typeof ms !== 'number') continue;
      timings[stage].push(ms);
      total += ms;
    }
    timings.total.push(total);
    if (job.processedOn && job.finishedOn) timings.job.push(job.finishedOn - job.processedOn);
  }
  return timings;
}

/** Nearest-rank quantiles, in ms to 0.1. */
function quantiles(values: readonly number[]): Quantiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? 0;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / Math.max(1, sorted.length);
  return { p50: round(at(0.5)), p95: round(at(0.95)), mean: round(mean), n: sorted.length };
}

function shares(timings: Record<Stage | 'total' | 'job', number[]>): Record<Stage, number> {
  const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);
  const total = sum(timings.total) || 1;
  return Object.fromEntries(STAGES.map((stage) => [stage, round((sum(timings[stage]) / total) * 100, 1)])) as Record<
    Stage,
    number
  >;
}

const toMb = (bytes: number) => round(bytes / MIB);

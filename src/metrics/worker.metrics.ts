import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueName } from '../jobs/job-registry.js';
import type { QueueWorkerMetrics } from '../jobs/queue-worker.js';
import type { CheckMetrics } from '../services/checks/check-evaluator.service.js';
import type { ClusterIndexMetrics, IndexSource } from '../services/clustering/cluster.service.js';
import type { PipelineMetrics, Stage } from '../services/face-pipeline.service.js';
import type { RecordState } from '../services/record-states.js';
import { createMetricsRegistry } from './metrics-registry.js';

// A face stage takes milliseconds (detect ~50 ms, descriptor ~27 ms on one core); a slow disk or database seconds.
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
// A large batch queues tens of thousands of jobs at once: at ~12 photos/s the last of 50,000 waits over an hour.
const QUEUE_WAIT_BUCKETS = [0.05, 0.25, 1, 5, 15, 60, 300, 900, 1800, 3600, 3 * 3600, 12 * 3600];
// A face job takes about 0.1 s; a cluster job clusters every pending face and can take minutes after a big batch.
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
// A check should answer within a second (README: p50 263 ms end to end); the API gives up after 10 s by default.
const CHECK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The Prometheus metrics of a worker process: the face pipeline, the queues it consumes, pre-activation checks
 * and the cluster index. One object per process, handed to whichever runtimes run there (`simsift worker` runs
 * the cluster worker beside its supervision, tests run both in one process), which record into it through the
 * services' small interfaces. Series appear once something was recorded: a face worker shows no index size.
 */
export class WorkerMetrics implements PipelineMetrics, QueueWorkerMetrics, CheckMetrics, ClusterIndexMetrics {
  readonly registry: Registry = createMetricsRegistry();

  private readonly photos = new Counter({
    name: 'simsift_photos_processed_total',
    help: 'KYC photos the face pipeline took to a final state (face_ready or a reason state), by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly stages = new Histogram({
    name: 'simsift_face_stage_duration_seconds',
    help: 'Time one photo spent in each face pipeline stage (a stage run twice, as detect on a padded canvas, is summed)',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });
  private readonly queueWait = new Histogram({
    name: 'simsift_queue_wait_seconds',
    help: "Time from a job's enqueue to its first start (retries not counted), by queue",
    labelNames: ['queue'] as const,
    buckets: QUEUE_WAIT_BUCKETS,
    registers: [this.registry],
  });
  private readonly jobs = new Histogram({
    name: 'simsift_job_duration_seconds',
    help: 'Time one job attempt ran in this worker, by queue and result (completed, or failed and maybe retried)',
    labelNames: ['queue', 'result'] as const,
    buckets: JOB_BUCKETS,
    registers: [this.registry],
  });
  private readonly checks = new Histogram({
    name: 'simsift_check_duration_seconds',
    help: 'Time the cluster worker took to answer one pre-activation (1:N) check, by the face state it found or error',
    labelNames: ['outcome'] as const,
    buckets: CHECK_BUCKETS,
    registers: [this.registry],
  });
  private readonly indexFaces = new Gauge({
    name: 'simsift_cluster_index_faces',
    help: "Faces in the cluster worker's in-memory nearest-neighbour index, by embedder",
    labelNames: ['embedder'] as const,
    registers: [this.registry],
  });
  private readonly rebuildSeconds = new Gauge({
    name: 'simsift_cluster_index_rebuild_seconds',
    help: 'How long the last rebuild of the cluster index took (loading the saved index, or inserting every face)',
    labelNames: ['embedder'] as const,
    registers: [this.registry],
  });
  private readonly rebuilds = new Counter({
    name: 'simsift_cluster_index_rebuilds_total',
    help: 'Rebuilds of the cluster index, by embedder and source (saved_index: loaded from the file; postgres: every face inserted; in_memory: the gallery in memory checked against Postgres)',
    labelNames: ['embedder', 'source'] as const,
    registers: [this.registry],
  });

  photoProcessed(state: RecordState, timings: Readonly<Partial<Record<Stage, number>>>): void {
    this.photos.inc({ state });
    for (const [stage, ms] of Object.entries(timings)) {
      if (ms !== undefined) this.stages.observe({ stage }, ms / 1000);
    }
  }

  jobWaited(queue: QueueName, seconds: number): void {
    this.queueWait.observe({ queue }, seconds);
  }

  jobFinished(queue: QueueName, result: 'completed' | 'failed', seconds: number): void {
    this.jobs.observe({ queue, result }, seconds);
  }

  checked(outcome: string, seconds: number): void {
    this.checks.observe({ outcome }, seconds);
  }

  indexSize(embedder: string, faces: number): void {
    this.indexFaces.set({ embedder }, faces);
  }

  indexRebuilt(embedder: string, seconds: number, source: IndexSource): void {
    this.rebuildSeconds.set({ embedder }, seconds);
    this.rebuilds.inc({ embedder, source });
  }
}

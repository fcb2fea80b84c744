import { UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { JOB_QUEUE, JobName, type JobPayloads, type QueueName } from './job-registry.js';

/** Runs one kind of job; what it returns is stored as the job's result. */
export type JobHandler<N extends JobName> = (job: Job<JobPayloads[N]>) => Promise<unknown>;
export type QueueHandlers = { [N in JobName]?: JobHandler<N> };

export interface WorkerLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Where a queue worker reports its jobs (the workers' Prometheus metrics; nothing in tests and commands). */
export interface QueueWorkerMetrics {
  /** A job's first start, `seconds` after it was queued (or became due, when queued with a delay). */
  jobWaited(queue: QueueName, seconds: number): void;
  /** A job attempt ended: its handler returned (`completed`) or threw (`failed`, retried or not). */
  jobFinished(queue: QueueName, result: 'completed' | 'failed', seconds: number): void;
}
export const NO_QUEUE_WORKER_METRICS: QueueWorkerMetrics = {
  jobWaited: () => undefined,
  jobFinished: () => undefined,
};

/**
 * How long a job waited in its queue before its first start, from BullMQ's `timestamp` (when it was added) and
 * `processedOn` (when this attempt started). Null for a retry or a stalled job started again: their wait would
 * count the earlier attempts and the backoff. Both times come from the clocks of the producing and the consuming
 * host, so skew between them can make the difference negative: it is clamped at 0.
 */
export function queueWaitSeconds(
  job: Pick<Job, 'timestamp' | 'processedOn' | 'attemptsStarted' | 'attemptsMade' | 'delay'>,
): number | null {
  if (!job.processedOn || job.attemptsMade > 0 || job.attemptsStarted > 1) return null;
  return Math.max(0, job.processedOn - job.timestamp - (job.delay || 0)) / 1000;
}

/** The jobs of `queue` that `handlers` leaves unhandled, and the handlers for jobs of other queues. */
export function handlerGaps(queue: QueueName, handlers: QueueHandlers): { missing: JobName[]; foreign: string[] } {
  const names = Object.values(JobName);
  return {
    missing: names.filter((name) => JOB_QUEUE[name] === queue && !handlers[name]),
    foreign: Object.keys(handlers).filter((name) => JOB_QUEUE[name as JobName] !== queue),
  };
}

/**
 * Starts the BullMQ worker of one queue, dispatching each job to the handler of its name. Refuses to start when a
 * job of the queue has no handler (or a handler is for another queue's job): such jobs would fail only once they
 * arrive. The worker's Redis connection retries forever, so a Redis restart pauses it instead of killing it.
 */
export async function startQueueWorker(
  queue: QueueName,
  handlers: QueueHandlers,
  options: {
    redisUrl: string;
    prefix: string;
    logger: WorkerLogger;
    concurrency?: number;
    settings?: Omit<WorkerOptions, 'connection' | 'prefix' | 'concurrency'>;
    metrics?: QueueWorkerMetrics;
  },
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const gaps = handlerGaps(queue, handlers);
  if (gaps.missing.length > 0 || gaps.foreign.length > 0) {
    throw new Error(
      `queue ${queue}: no handler for ${gaps.missing.join(', ') || '-'}; handlers for other queues' jobs: ` +
        `${gaps.foreign.join(', ') || '-'}`,
    );
  }
  const metrics = options.metrics ?? NO_QUEUE_WORKER_METRICS;
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error) => options.logger.warn({ err: error, queue }, 'redis connection error'));
  const worker = new Worker(
    queue,
    async (job) => {
      const handler = handlers[job.name as JobName] as JobHandler<JobName> | undefined;
      // A job name this version does not know (queued by a newer release): retrying will not help.
      if (!handler) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`);
      const waited = queueWaitSeconds(job);
      if (waited !== null) metrics.jobWaited(queue, waited);
      const started = performance.now();
      try {
        const result = await handler(job as Job<JobPayloads[JobName]>);
        metrics.jobFinished(queue, 'completed', (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        metrics.jobFinished(queue, 'failed', (performance.now() - started) / 1000);
        throw error;
      }
    },
    { ...options.settings, connection, prefix: options.prefix, concurrency: options.concurrency ?? 1 },
  );
  worker.on('error', (error) => options.logger.error({ err: error, queue }, 'worker error'));
  await worker.waitUntilReady();
  return {
    worker,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

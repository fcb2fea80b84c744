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
  },
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const gaps = handlerGaps(queue, handlers);
  if (gaps.missing.length > 0 || gaps.foreign.length > 0) {
    throw new Error(
      `queue ${queue}: no handler for ${gaps.missing.join(', ') || '-'}; handlers for other queues' jobs: ` +
        `${gaps.foreign.join(', ') || '-'}`,
    );
  }
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', (error) => options.logger.warn({ err: error, queue }, 'redis connection error'));
  const worker = new Worker(
    queue,
    async (job) => {
      const handler = handlers[job.name as JobName] as JobHandler<JobName> | undefined;
      // A job name this version does not know (queued by a newer release): retrying will not help.
      if (!handler) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`);
      return handler(job as Job<JobPayloads[JobName]>);
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

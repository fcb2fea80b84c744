import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config.js';
import type { QueueName } from '../../src/jobs/job-registry.js';
import { waitFor } from './upload.js';

/** Runs `use` with a BullMQ queue of this test's prefix on a connection of its own, closed afterwards. */
async function withQueue<T>(
  config: Config,
  queueName: QueueName,
  use: (queue: Queue, connection: Redis) => Promise<T>,
) {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection, prefix: config.queuePrefix });
  try {
    return await use(queue, connection);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/**
 * A job of `queueName` in the failed state, as a job that threw on its only attempt leaves it (with its error):
 * something for the queue dashboard to show, retry and remove.
 */
export async function addFailedJob(config: Config, queueName: QueueName, jobId: string): Promise<void> {
  await withQueue(config, queueName, async (queue, connection) => {
    await queue.add('embed-record', { recordId: 4242 }, { jobId, attempts: 1 });
    const worker = new Worker(
      queueName,
      async () => {
        throw new Error('photo store unreachable');
      },
      { connection, prefix: config.queuePrefix },
    );
    try {
      await waitFor(
        async () => ((await queue.getJobState(jobId)) === 'failed' ? true : undefined),
        10_000,
        'failed job',
      );
    } finally {
      await worker.close();
    }
  });
}

/** The job's state as BullMQ reports it: 'failed', 'waiting', ..., or 'unknown' once removed. */
export async function jobState(config: Config, queueName: QueueName, jobId: string): Promise<string> {
  return withQueue(config, queueName, (queue) => queue.getJobState(jobId));
}

import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { QueueName } from '../jobs/job-registry.js';
import { withTimeout } from './job-queue.repository.js';

/**
 * The BullMQ queues as the admin dashboard (bull-board) reads them, and acts on them when allowed. bull-board keeps
 * the `Queue` objects it is given for the life of the app, so unlike JobQueueRepository's producers, which rebuild
 * a failed connection per call, these share one connection that reconnects by itself after a Redis outage. Nothing
 * connects until the dashboard is mounted: the CLI and the workers build the same container and never need it.
 */
export class QueueDashboardRepository {
  private opened: { connection: Redis; queues: Queue[] } | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly queueNames: readonly QueueName[],
  ) {}

  /**
   * One bull-board adapter per queue. `readOnly` makes bull-board itself refuse every call that changes a queue or
   * a job (405), whatever the caller's role.
   */
  boardQueues({ readOnly }: { readOnly: boolean }): BaseAdapter[] {
    const { queues } = this.open();
    return queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: readOnly, allowRetries: !readOnly }));
  }

  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (!opened) return;
    for (const queue of opened.queues) {
      await withTimeout(queue.close(), 2_000, 'dashboard queue close').catch(() => undefined);
    }
    opened.connection.disconnect();
  }

  private open() {
    if (this.opened) return this.opened;
    // One try per command: a dashboard poll during an outage fails at once instead of waiting for Redis, while
    // the connection itself keeps reconnecting (ioredis's default retry strategy) so the page recovers with it.
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    connection.on('error', () => undefined);
    const queues = this.queueNames.map((name) => {
      const queue = new Queue(name, { connection, prefix: this.prefix });
      queue.on('error', () => undefined);
      return queue;
    });
    this.opened = { connection, queues };
    return this.opened;
  }
}

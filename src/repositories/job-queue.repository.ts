import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { JobDefinition, QueueName } from '../jobs/job-registry.js';

/** How long an upload waits for Redis before leaving its records for the reconciler. */
const ENQUEUE_TIMEOUT_MS = 3_000;

/** Job states in which a worker will still run the job ('unknown' is a job Redis does not hold). */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);
/** Job states are asked this many at a time: commands on one connection go out back to back. */
const LIVENESS_CHUNK = 200;

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

/**
 * Producer side of one BullMQ queue. Fails fast when Redis is unreachable instead of buffering commands, and
 * rebuilds its connection after a failure: BullMQ keeps a connection that failed to initialise broken for good.
 */
export class JobQueueRepository {
  private current: { connection: Redis; queue: Queue } | null = null;
  private events: { events: QueueEvents; connection: Redis } | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    readonly queueName: QueueName,
  ) {}

  /** Adds jobs built by the job registry. Their deterministic ids make this safe to repeat. */
  async add(jobs: readonly JobDefinition[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.run((queue) => queue.addBulk(jobs.map((job) => ({ ...job }))), ENQUEUE_TIMEOUT_MS, 'enqueue');
  }

  /**
   * Adds one job and waits for a worker's answer (its return value). When no answer comes within `timeoutMs`
   * the job is withdrawn (if no worker took it yet) and a {@link JobTimeoutError} is thrown.
   */
  async request<T>(job: JobDefinition, timeoutMs: number): Promise<T> {
    const events = await this.openEvents();
    const added = await this.run(
      (queue) => queue.add(job.name, job.data, { ...job.opts }),
      ENQUEUE_TIMEOUT_MS,
      'enqueue',
    );
    try {
      return (await added.waitUntilFinished(events, timeoutMs)) as T;
    } catch (error) {
      if ((error as Error).message.includes('timed out')) {
        await added.remove().catch(() => undefined);
        throw new JobTimeoutError(`no worker answered within ${timeoutMs} ms`);
      }
      throw error;
    }
  }

  async ping(): Promise<void> {
    await this.run(async (_queue, connection) => connection.ping(), 1_000, 'redis ping');
  }

  /**
   * The Redis server's `run_id`, new on every start: a changed id means a server without persistence may have
   * lost every job, so the reconciler looks for records whose jobs are gone.
   */
  async serverRunId(): Promise<string> {
    const info = await this.run(async (_queue, connection) => connection.info('server'), 1_000, 'redis info');
    return /^run_id:(\w+)/m.exec(info)?.[1] ?? '';
  }

  async counts(): Promise<QueueCounts> {
    const counts = await this.run(
      (queue) => queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed'),
      1_000,
      'queue counts',
    );
    return {
      waiting: counts.waiting ?? 0,
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    };
  }

  /** Which of these job ids name a job still to run: waiting, active, delayed or prioritized. */
  async liveJobIds(jobIds: readonly string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (let start = 0; start < jobIds.length; start += LIVENESS_CHUNK) {
      const chunk = jobIds.slice(start, start + LIVENESS_CHUNK);
      const states = await this.run(
        (queue) => Promise.all(chunk.map((id) => queue.getJobState(id))),
        5_000,
        'job states',
      );
      states.forEach((state, i) => {
        if (LIVE_STATES.has(state)) live.add(chunk[i]!);
      });
    }
    return live;
  }

  /** Job ids currently known to the queue (tests and diagnostics). */
  async jobIds(): Promise<string[]> {
    const jobs = await this.run(
      (queue) => queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized']),
      5_000,
      'list jobs',
    );
    return jobs.map((job) => job.id ?? '').filter((id) => id !== '');
  }

  async close(): Promise<void> {
    const events = this.events;
    this.events = null;
    if (events) {
      await withTimeout(events.events.close(), 2_000, 'queue events close').catch(() => undefined);
      events.connection.disconnect();
    }
    const current = this.current;
    this.current = null;
    if (!current) return;
    await withTimeout(current.queue.close(), 2_000, 'queue close').catch(() => undefined);
    current.connection.disconnect();
  }

  private async run<T>(
    operation: (queue: Queue, connection: Redis) => Promise<T>,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const { queue, connection } = this.open();
    try {
      return await withTimeout(operation(queue, connection), timeoutMs, what);
    } catch (error) {
      // Start from a fresh connection next time; the reconciler retries whatever this call did not queue.
      if (this.current?.queue === queue) {
        this.current = null;
        connection.disconnect();
      }
      throw error;
    }
  }

  private async openEvents(): Promise<QueueEvents> {
    if (this.events) return this.events.events;
    // QueueEvents blocks on its connection (XREAD), so it gets one of its own.
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', () => undefined);
    const events = new QueueEvents(this.queueName, { prefix: this.prefix, connection });
    events.on('error', () => undefined);
    try {
      await withTimeout(events.waitUntilReady(), ENQUEUE_TIMEOUT_MS, 'queue events');
    } catch (error) {
      await events.close().catch(() => undefined);
      connection.disconnect();
      throw error;
    }
    this.events = { events, connection };
    return events;
  }

  private open() {
    if (this.current) return this.current;
    const connection = quickFailingRedis(this.redisUrl);
    const queue = new Queue(this.queueName, { connection, prefix: this.prefix });
    queue.on('error', () => undefined);
    this.current = { connection, queue };
    return this.current;
  }
}

/**
 * A Redis connection that gives up on a dead server after a few quick attempts, so the caller's timeout decides,
 * not ioredis. Its errors surface in the commands that fail, not as events.
 */
export function quickFailingRedis(redisUrl: string): Redis {
  const connection = new Redis(redisUrl, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => (attempt > 3 ? null : attempt * 200),
  });
  connection.on('error', () => undefined);
  return connection;
}

export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** `promise`, or an error "<what> timed out after <ms> ms" once `ms` have passed. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Removes every Redis key under a queue prefix (tests and benchmarks clean up their private queues). */
export async function deleteQueueKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

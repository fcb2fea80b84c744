import type { Redis } from 'ioredis';
import { quickFailingRedis, withTimeout } from './job-queue.repository.js';

/** Events of one subject in its current window, across every API process. */
export interface WindowCount {
  count: number;
  /** Until the window ends. */
  resetInMs: number;
}

// The request that counts waits for this answer: a slow Redis must not hold it long.
const TIMEOUT_MS = 500;

/**
 * Counts events per subject in fixed windows in Redis, so that API processes behind one load balancer share a
 * limit: without it, N processes would allow N times as much. A window opens with a subject's first event and
 * lasts `windowMs`; the count only grows within it. Used for failed authentications per client address and for
 * pre-activation checks per key.
 */
export class WindowCounterRepository {
  private connection: Redis | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    /** Names the counter in Redis keys, e.g. `auth-failures`. */
    private readonly name: string,
    private readonly windowMs: number,
  ) {}

  async record(subject: string): Promise<WindowCount> {
    const key = `${this.prefix}:${this.name}:${subject}`;
    const connection = this.open();
    try {
      // SET NX opens the window with its expiry; INCR keeps the expiry of an existing key.
      const replies = await withTimeout(
        connection.multi().set(key, 0, 'PX', this.windowMs, 'NX').incr(key).pttl(key).exec(),
        TIMEOUT_MS,
        `${this.name} count`,
      );
      const count = replies?.[1]?.[1];
      const resetInMs = replies?.[2]?.[1];
      if (typeof count !== 'number' || typeof resetInMs !== 'number') throw new Error('unexpected Redis reply');
      return { count, resetInMs: Math.max(0, resetInMs) };
    } catch (error) {
      // Start from a fresh connection next time.
      this.connection?.disconnect();
      this.connection = null;
      throw error;
    }
  }

  close(): void {
    this.connection?.disconnect();
    this.connection = null;
  }

  private open(): Redis {
    this.connection ??= quickFailingRedis(this.redisUrl);
    return this.connection;
  }
}

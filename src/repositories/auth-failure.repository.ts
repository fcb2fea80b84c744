import type { Redis } from 'ioredis';
import { quickFailingRedis, withTimeout } from './job-queue.repository.js';

/** Failed authentications of one client address in its current window, across every API process. */
export interface SharedFailureCount {
  failures: number;
  /** Until the window ends. */
  resetInMs: number;
}

// A failed authentication waits for this answer before its 401 goes out: a slow Redis must not hold it long.
const TIMEOUT_MS = 500;

/**
 * Counts failed authentications per client address in Redis, so that API processes behind one load balancer
 * share a limit: without it, N processes would allow N times as many guesses. A window opens with an address's
 * first failure and lasts `windowMs`; the count only grows within it. Only failures touch Redis, never the
 * requests that authenticate.
 */
export class AuthFailureRepository {
  private connection: Redis | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {}

  async record(address: string): Promise<SharedFailureCount> {
    const key = `${this.prefix}:auth-failures:${address}`;
    const connection = this.open();
    try {
      // SET NX opens the window with its expiry; INCR keeps the expiry of an existing key.
      const replies = await withTimeout(
        connection.multi().set(key, 0, 'PX', this.windowMs, 'NX').incr(key).pttl(key).exec(),
        TIMEOUT_MS,
        'auth failure count',
      );
      const failures = replies?.[1]?.[1];
      const resetInMs = replies?.[2]?.[1];
      if (typeof failures !== 'number' || typeof resetInMs !== 'number') throw new Error('unexpected Redis reply');
      return { failures, resetInMs: Math.max(0, resetInMs) };
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

import pg from 'pg';
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { connectionErrorCode, ServiceUnreachableError } from './cli-errors.js';

const PROBE_TIMEOUT_MS = 3_000;

/**
 * Connects to Postgres once, so a command that needs it fails in seconds with the URL and what to do, not
 * with a stack trace from deep inside a pool. A database that does not exist yet counts as reachable:
 * `db migrate` creates it.
 */
export async function probePostgres(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    if ((error as { code?: string }).code === '3D000') return; // database missing: migrate creates it
    if (connectionErrorCode(error) || /timeout/i.test((error as Error).message)) {
      throw new ServiceUnreachableError('Postgres', databaseUrl, 'start Postgres or set DATABASE_URL', error);
    }
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Pings Redis once without retrying (ioredis would otherwise retry forever and print nothing useful). */
export async function probeRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new ServiceUnreachableError('Redis', redisUrl, 'start Redis or set REDIS_URL', error);
  } finally {
    redis.disconnect();
  }
}

/** Checks the services a command needs before it starts work; throws ServiceUnreachableError (exit 3). */
export async function requireServices(
  config: Pick<Config, 'databaseUrl' | 'redisUrl'>,
  needs: { postgres?: boolean; redis?: boolean },
): Promise<void> {
  if (needs.postgres) await probePostgres(config.databaseUrl);
  if (needs.redis) await probeRedis(config.redisUrl);
}

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { buildApp } from '../../src/app.js';
import { childProcessEnv, loadConfig, type Config } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { dropDatabase, migrate } from '../../src/repositories/database.js';
import { deleteQueueKeys } from '../../src/repositories/job-queue.repository.js';
import type { Role } from '../../src/services/auth.service.js';

const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestEnv {
  config: Config;
  container: Container;
  app: FastifyInstance;
  /** Base URL of the listening server, for real HTTP (streamed multipart and zip bodies). */
  url: string;
  /** Environment for a child process (worker) that must see this test's database, queues and data dir. */
  childEnv(): NodeJS.ProcessEnv;
  /** Creates an operator (if needed) and a key; returns the clear-text key. */
  key(role: Role, operatorCode?: string): Promise<string>;
  /** An operator key per code (named by the code in lower case, `jio`), then a key per role (named by the role). */
  keys(operatorCodes: readonly string[], roles?: readonly Exclude<Role, 'operator'>[]): Promise<Record<string, string>>;
  /** `SELECT count(*) FROM <from>` on this test's database: `from` is a table and an optional WHERE or JOIN. */
  count(from: string, values?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * A private simsift for one test file: its own database, data dir and queue prefix, against the real
 * Postgres and Redis. `overrides` replace config values (e.g. an unreachable Redis, smaller limits).
 */
export type ConfigOverrides = Partial<Omit<Config, 'upload' | 'faces'>> & {
  upload?: Partial<Config['upload']>;
  faces?: Partial<Config['faces']>;
};

export async function createTestEnv(
  overrides: ConfigOverrides = {},
  logDestination?: DestinationStream,
): Promise<TestEnv> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = new URL(BASE_DATABASE_URL);
  databaseUrl.pathname = `/simsift_test_${id}`;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'simsift-test-'));
  const base = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL,
    SIMSIFT_DATA_DIR: dataDir,
    SIMSIFT_QUEUE_PREFIX: `test_${id}`,
    SIMSIFT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'silent',
    // Cluster workers in tests load the face models only when a test sends a check.
    SIMSIFT_CHECK_PRELOAD_MODELS: 'false',
  });
  const config: Config = {
    ...base,
    ...overrides,
    upload: { ...base.upload, ...overrides.upload },
    faces: { ...base.faces, ...overrides.faces },
  };
  await migrate(config.databaseUrl);
  const logger = createLogger(config, 'simsift-test', logDestination);
  // As in the real server: hot reads come from the change-fed cache, so every test also checks its invalidation.
  const container = createContainer(config, logger);
  await container.start();
  const app = await buildApp({ container, logger });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const key = async (role: Role, operatorCode?: string): Promise<string> => {
    if (operatorCode) await container.auth.createOperator(operatorCode, `${operatorCode} Telecom`, 'test', null);
    const created = await container.auth.createKey({
      role,
      operatorCode: role === 'operator' ? (operatorCode ?? null) : null,
      actor: 'test',
      actorKeyId: null,
    });
    return created.key;
  };
  return {
    config,
    container,
    app,
    url,
    childEnv() {
      return { ...childProcessEnv(config), NODE_ENV: 'test', LOG_LEVEL: 'warn' };
    },
    key,
    async keys(operatorCodes, roles = []) {
      const keys: Record<string, string> = {};
      for (const code of operatorCodes) keys[code.toLowerCase()] = await key('operator', code);
      for (const role of roles) keys[role] = await key(role);
      return keys;
    },
    async count(from, values = []) {
      const result = await container.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from}`, values);
      return result.rows[0]!.n;
    },
    async close() {
      await app.close();
      await container.close();
      await dropDatabase(config.databaseUrl);
      await deleteQueueKeys(REDIS_URL, base.queuePrefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { dropDatabase } from '../../../src/repositories/database.js';
import { deleteQueueKeys } from '../../../src/repositories/job-queue.repository.js';

const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const MIB = 1024 * 1024;

/** Progress goes to stderr: stdout carries only the bench's JSON result. */
export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

export const round = (value: number, digits = 1): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * A private simsift for one bench run, like the test env: its own database (`simsift_bench_<id>`), queue prefix
 * and temp dir. Nothing is created in Postgres or Redis until a server or `migrate` touches them; `cleanup`
 * drops and deletes whatever exists, plus every resource registered with `onCleanup` (run last-in first-out).
 */
export interface BenchEnv {
  id: string;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  secret: string;
  /** Scratch space for generated inputs and server data dirs; removed by `cleanup`. */
  rootDir: string;
  /**
   * The environment `loadConfig` reads, for a server or worker in this bench env. `dataDir` defaults to
   * `<rootDir>/data`; `extra` adds or overrides keys (limits, log level).
   */
  serverEnv(dataDir?: string, extra?: Record<string, string>): Record<string, string>;
  onCleanup(task: () => Promise<void> | void): void;
  /** Runs once; later calls return the same promise, so every caller can wait for it to finish. */
  cleanup(): Promise<void>;
}

/** Keys the simsift config reads; a caller's shell must not leak them into a bench server. */
const CONFIG_KEYS = /^(SIMSIFT_|DATABASE_URL$|DATABASE_OWNER_URL$|REDIS_URL$|HOST$|PORT$|LOG_LEVEL$|NODE_ENV$)/;

export async function createBenchEnv(name: string): Promise<BenchEnv> {
  const id = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = new URL(BASE_DATABASE_URL);
  databaseUrl.pathname = `/simsift_bench_${id}`;
  const rootDir = await mkdtemp(path.join(os.tmpdir(), `simsift-bench-${name}-`));
  const queuePrefix = `bench_${id}`;
  const secret = randomBytes(32).toString('hex');
  const tasks: (() => Promise<void> | void)[] = [];
  let cleaning: Promise<void> | null = null;

  return {
    id,
    databaseUrl: databaseUrl.toString(),
    redisUrl: REDIS_URL,
    queuePrefix,
    secret,
    rootDir,
    serverEnv(dataDir = path.join(rootDir, 'data'), extra = {}) {
      const inherited = Object.fromEntries(
        Object.entries(process.env).filter(
          (entry): entry is [string, string] => entry[1] !== undefined && !CONFIG_KEYS.test(entry[0]),
        ),
      );
      return {
        ...inherited,
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL,
        SIMSIFT_DATA_DIR: dataDir,
        SIMSIFT_QUEUE_PREFIX: queuePrefix,
        SIMSIFT_SECRET: secret,
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        // The bench's own server never needs the reconciler to wake often.
        SIMSIFT_RECONCILE_INTERVAL_MS: '3600000',
        // The checks bench measures latency, not the per-key limit.
        SIMSIFT_CHECKS_PER_KEY_PER_MINUTE: '1000000',
        ...extra,
      };
    },
    onCleanup(task) {
      tasks.push(task);
    },
    cleanup() {
      // Every caller (a signal handler and the normal exit path, say) waits for the one cleanup to finish.
      cleaning ??= (async () => {
        const steps: [string, () => Promise<void> | void][] = [
          ...tasks
            .reverse()
            .map((task, index): [string, () => Promise<void> | void] => [`cleanup task ${index}`, task]),
          ['drop database', () => dropDatabase(databaseUrl.toString())],
          ['delete queue keys', () => deleteQueueKeys(REDIS_URL, queuePrefix)],
          ['remove temp dir', () => rm(rootDir, { recursive: true, force: true })],
        ];
        for (const [label, step] of steps) {
          try {
            await step();
          } catch (error) {
            log(`${label} failed: ${(error as Error).message}`);
          }
        }
      })();
      return cleaning;
    },
  };
}

/**
 * A full garbage collection (V8's flag set at run time): frees what the bench dropped. usearch frees a dropped
 * graph in a finalizer that runs only once the event loop turns (measured: RSS unchanged after one collection,
 * the graph's memory back after a turn), hence a turn and a second collection. The 10M run of session 13 had one
 * collection only: its restart process started beside 13.9 GB still held.
 */
export async function collectGarbage(): Promise<void> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
}

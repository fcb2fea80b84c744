import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR } from '../paths.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// Distinct from any lock the application takes: serialises migrators across processes.
const MIGRATION_LOCK_ID = 0x5157_0001;

// Dates stay 'YYYY-MM-DD' strings: a JS Date would shift them by the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);
// bigint ids fit comfortably in a double for any realistic table; numbers are easier for API clients.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(databaseUrl: string, max = 10): Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'simsift' });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Runs `work` in one transaction; rolls back on any error. `mode` adds transaction modes, e.g.
 * `ISOLATION LEVEL REPEATABLE READ READ ONLY` for a consistent read-only snapshot.
 */
export async function withTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, mode = ''): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(mode ? `BEGIN ${mode}` : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Creates the database named in the URL when it does not exist yet (tolerates a concurrent creator). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1::text', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      } catch (error) {
        // 42P04 duplicate_database, 23505 unique_violation: another process created it first.
        const code = (error as { code?: string }).code;
        if (code !== '42P04' && code !== '23505') throw error;
      }
    }
  } finally {
    await client.end();
  }
}

/** Drops a database (tests only). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Migrates as the schema owner and, when the app connects as another user, grants that user what the app needs
 * and no more: reads and writes on the tables, the sequences, and on the append-only logs only SELECT and
 * INSERT. It owns nothing, so it cannot ALTER a table, disable a trigger or TRUNCATE. Granted on every start, so
 * tables a migration adds are covered.
 */
export async function migrateDatabase(config: {
  databaseUrl: string;
  databaseOwnerUrl: string;
}): Promise<MigrationResult> {
  const result = await migrate(config.databaseOwnerUrl);
  const appUser = decodeURIComponent(new URL(config.databaseUrl).username || 'postgres');
  const ownerUser = decodeURIComponent(new URL(config.databaseOwnerUrl).username || 'postgres');
  if (appUser === ownerUser) return result;
  const client = new pg.Client({ connectionString: config.databaseOwnerUrl });
  await client.connect();
  try {
    const role = pg.escapeIdentifier(appUser);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};
      REVOKE UPDATE, DELETE ON audit_log, access_log FROM ${role};
      REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM ${role};`);
  } finally {
    await client.end();
  }
  return result;
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies numbered forward-only migrations, each in its own transaction. An advisory lock makes concurrent
 * runs (API and workers starting together) wait for each other instead of racing.
 */
export async function migrate(databaseUrl: string, migrationsDir = MIGRATIONS_DIR): Promise<MigrationResult> {
  await ensureDatabase(databaseUrl);
  const files = (await readdir(migrationsDir)).filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file)).sort();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const applied: string[] = [];
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (done.has(version)) continue;
      const sql = await readFile(path.join(migrationsDir, file), 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2::text)', [
          version,
          file,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed`, { cause: error });
      }
      applied.push(file);
    }
    return { applied, alreadyApplied: done.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await client.end();
  }
}

/**
 * Every row of every table in the public schema as Postgres prints it (`row::text`), per table: what a data
 * dump would hold, for sweeps that look for personal data at rest. For small databases (the demo's).
 */
export async function tablesAsText(pool: Pool): Promise<{ table: string; rows: number; text: string }[]> {
  const tables = await pool.query<{ name: string }>(
    `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`,
  );
  const dumped: { table: string; rows: number; text: string }[] = [];
  for (const { name } of tables.rows) {
    const result = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${pg.escapeIdentifier(name)} t`);
    dumped.push({ table: name, rows: result.rows.length, text: result.rows.map((r) => r.row).join('\n') });
  }
  return dumped;
}

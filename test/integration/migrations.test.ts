import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/paths.js';
import { dropDatabase, migrate } from '../../src/repositories/database.js';

const base = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
base.pathname = `/simsift_test_migrations_${randomBytes(4).toString('hex')}`;
const databaseUrl = base.toString();

afterAll(async () => {
  await dropDatabase(databaseUrl);
});

describe('migrations', () => {
  it('create the missing database, and are safe from two processes at once and when run twice', async () => {
    const [a, b] = await Promise.all([migrate(databaseUrl), migrate(databaseUrl)]);
    // Exactly one of the two concurrent runs applied the migrations; the other found them done.
    const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.sql'));
    expect(Math.min(a.applied.length, b.applied.length)).toBe(0);
    expect(Math.max(a.applied.length, b.applied.length)).toBe(files.length);
    expect((await migrate(databaseUrl)).applied).toEqual([]);

    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(
        expect.arrayContaining(['operators', 'api_keys', 'batches', 'kyc_records', 'photos', 'audit_log']),
      );
      const versions = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY 1');
      expect(versions.rows.map((r) => r.version)).toEqual(
        files.map((file) => Number(file.slice(0, 4))).sort((a, b) => a - b),
      );
    } finally {
      await client.end();
    }
  });
});

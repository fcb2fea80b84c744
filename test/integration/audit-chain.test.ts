import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, PROJECT_ROOT } from '../../src/paths.js';
import { AuditRepository, insertAuditEntry, type AuditEntry } from '../../src/repositories/audit.repository.js';
import { createPool, dropDatabase, migrate, withTransaction, type Pool } from '../../src/repositories/database.js';
import { auditChainHash } from '../../src/audit-chain-hash.js';
import { AuditChainService, type AuditVerification } from '../../src/services/audit-chain.service.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

interface AuditDb {
  databaseUrl: string;
  pool: Pool;
  verify(pageSize?: number): Promise<AuditVerification>;
}

const opened: { pool: Pool; databaseUrl: string }[] = [];

/** A private database with the migrations applied: each tampering test breaks its own chain. */
async function auditDb(migrationsDir?: string): Promise<AuditDb> {
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/simsift_test_audit_${process.pid}_${randomBytes(4).toString('hex')}`;
  const databaseUrl = url.toString();
  await migrate(databaseUrl, migrationsDir);
  const pool = createPool(databaseUrl, 10);
  opened.push({ pool, databaseUrl });
  const service = new AuditChainService(new AuditRepository(pool));
  return { databaseUrl, pool, verify: (pageSize = 4) => service.verify({ pageSize }) };
}

afterEach(async () => {
  for (const { pool, databaseUrl } of opened.splice(0)) {
    await pool.end();
    await dropDatabase(databaseUrl);
  }
});

function entry(i: number): AuditEntry {
  return {
    apiKeyId: null,
    actor: 'test',
    action: 'batch.upload',
    entity: 'batch',
    entityId: `batch-${i}`,
    details: { accepted: i, rejected: 0 },
  };
}

async function appendEntries(pool: Pool, count: number): Promise<void> {
  for (let i = 1; i <= count; i += 1) await insertAuditEntry(pool, entry(i));
}

/** What a superuser can do: switch the append-only triggers off, change the table, switch them on again. */
async function tamper(pool: Pool, sql: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('ALTER TABLE audit_log DISABLE TRIGGER ALL');
    await client.query(sql);
    await client.query('ALTER TABLE audit_log ENABLE TRIGGER ALL');
  });
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

describe('audit chain', () => {
  it('verifies a chain written a row at a time, across pages', async () => {
    const db = await auditDb();
    expect(await db.verify()).toMatchObject({ ok: true, checked: 0, head: { seq: 0 }, issues: [] });
    await appendEntries(db.pool, 13);
    const result = await db.verify();
    expect(result).toMatchObject({ ok: true, checked: 13, lastSeq: 13, head: { seq: 13 }, issues: [] });
    const rows = await db.pool.query<{ seq: number }>('SELECT seq FROM audit_log ORDER BY seq');
    expect(rows.rows.map((r) => r.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
  });

  it('stays gap-free and verifiable with 50 concurrent appenders from two pools and inside transactions', async () => {
    const db = await auditDb();
    const other = createPool(db.databaseUrl, 10);
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          if (i % 3 === 0) return insertAuditEntry(other, entry(i));
          if (i % 3 === 1) return insertAuditEntry(db.pool, entry(i));
          // As BatchRepository does: part of a transaction that writes other rows too.
          return withTransaction(db.pool, (client) => insertAuditEntry(client, entry(i)));
        }),
      );
      // A rolled-back transaction gives its seq back: the chain stays gap-free.
      await expect(
        withTransaction(db.pool, async (client) => {
          await insertAuditEntry(client, entry(99));
          throw new Error('upload failed');
        }),
      ).rejects.toThrow('upload failed');
      await insertAuditEntry(other, entry(100));
    } finally {
      await other.end();
    }
    expect(await db.verify(7)).toMatchObject({ ok: true, checked: 51, head: { seq: 51 }, issues: [] });
    const rows = await db.pool.query<{ seq: number; at: Date }>('SELECT seq, at FROM audit_log ORDER BY seq');
    expect(rows.rows.map((r) => r.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
    // Timestamps are taken under the chain lock, so they follow seq.
    const times = rows.rows.map((r) => r.at.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('hashes awkward JSON and before/after exactly as it reads them back', async () => {
    const db = await auditDb();
    await insertAuditEntry(db.pool, {
      apiKeyId: null,
      actor: 'cli',
      action: 'api_key.revoke',
      entity: 'api_key',
      entityId: '7',
      details: { z: 1, a: [3, { y: null, b: 'x"\\\n\t\u0001' }], big: 1e21, small: 1e-7, neg: -0.5, name: 'मोहम्मद 😀' },
      before: { revoked: false, label: 'ops' },
      after: { revoked: true, label: 'ops' },
    });
    expect(await db.verify()).toMatchObject({ ok: true, checked: 1 });
  });

  it('refuses UPDATE, DELETE and TRUNCATE, and appends that skip the chain', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 3);
    const refused = [
      `UPDATE audit_log SET details = '{"accepted": 1000}' WHERE seq = 2`,
      'DELETE FROM audit_log WHERE seq = 3',
      'TRUNCATE audit_log CASCADE',
      'DELETE FROM audit_head',
    ];
    for (const sql of refused) {
      const error = await errorOf(db.pool.query(sql));
      expect(error.message, sql).toMatch(/refused: the audit trail is append-only/);
      expect(error.code).toBe('42501');
    }
    // Moving the head back (to hide deleted rows) or forging a row that does not extend it.
    const head = await errorOf(db.pool.query('UPDATE audit_head SET seq = 2'));
    expect(head.message).toMatch(/audit_head may only advance/);
    const forged = await errorOf(
      db.pool.query(
        `INSERT INTO audit_log (seq, prev_hash, hash, actor, action, entity, entity_id)
         VALUES (4, '\\x${'00'.repeat(32)}', '\\x${'11'.repeat(32)}', 'x', 'x', 'x', 'x')`,
      ),
    );
    expect(forged.message).toMatch(/does not extend the chain head/);
    expect(await db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('detects an edited row and names its seq', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 10);
    await tamper(db.pool, `UPDATE audit_log SET details = '{"accepted": 0, "rejected": 4}' WHERE seq = 4`);
    const result = await db.verify();
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ kind: 'edited', seq: 4 })]);
  });

  it('detects an edited timestamp, actor or before/after value', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 5);
    await tamper(db.pool, `UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 2`);
    await tamper(db.pool, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3`);
    await tamper(db.pool, `UPDATE audit_log SET after = '{"revoked": true}' WHERE seq = 5`);
    expect((await db.verify()).issues).toEqual([
      expect.objectContaining({ kind: 'edited', seq: 2 }),
      expect.objectContaining({ kind: 'edited', seq: 3 }),
      expect.objectContaining({ kind: 'edited', seq: 5 }),
    ]);
  });

  it('detects a row that was edited and given its correct new hash, at the next link', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 6);
    // The forger recomputes the edited row's hash; the next row still points at the old one.
    const row = await new AuditRepository(db.pool).withSnapshot(async (snapshot) => (await snapshot.page(2, 1))[0]);
    if (!row) throw new Error('row 3 not found');
    const forged = auditChainHash({ ...row, entityId: 'batch-x' });
    await tamper(
      db.pool,
      `UPDATE audit_log SET entity_id = 'batch-x', hash = '\\x${forged.toString('hex')}' WHERE seq = 3`,
    );
    const result = await db.verify();
    expect(result.ok).toBe(false);
    expect(result.issues.map((i) => [i.kind, i.seq])).toEqual([['relinked', 4]]);
  });

  it('detects a deleted row in the middle and at the start', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 10);
    await tamper(db.pool, 'DELETE FROM audit_log WHERE seq = 5');
    const result = await db.verify();
    expect(result.ok).toBe(false);
    expect(result.issues).toEqual([expect.objectContaining({ kind: 'missing', seq: 5 })]);

    await tamper(db.pool, 'DELETE FROM audit_log WHERE seq IN (1, 2)');
    expect((await db.verify()).issues.map((i) => [i.kind, i.seq])).toEqual([
      ['missing', 1],
      ['missing', 5],
    ]);
  });

  it('detects deleted rows at the end', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 10);
    await tamper(db.pool, 'DELETE FROM audit_log WHERE seq = 10');
    const result = await db.verify();
    expect(result).toMatchObject({ ok: false, checked: 9, lastSeq: 9, head: { seq: 10 } });
    expect(result.issues).toEqual([expect.objectContaining({ kind: 'truncated', seq: 10 })]);

    await tamper(db.pool, 'DELETE FROM audit_log WHERE seq > 6');
    expect((await db.verify()).issues).toEqual([
      expect.objectContaining({ kind: 'truncated', seq: 7, message: expect.stringContaining('7..10') as string }),
    ]);
  });

  it('detects rows renumbered to close the gap left by a deletion', async () => {
    const db = await auditDb();
    await appendEntries(db.pool, 6);
    await tamper(db.pool, 'DELETE FROM audit_log WHERE seq = 3; UPDATE audit_log SET seq = seq - 1 WHERE seq > 3');
    const result = await db.verify();
    expect(result.ok).toBe(false);
    expect(result.issues[0]).toMatchObject({ seq: 3 });
  });

  it('gives rows written before the chain existed their hashes in the migration', async () => {
    // Migrate up to, not including, 0008, write audit rows the old way, then apply the rest.
    const before = await mkdtemp(path.join(os.tmpdir(), 'simsift-migrations-'));
    try {
      for (const file of await readdir(MIGRATIONS_DIR)) {
        if (/^\d{4}_.*\.sql$/.test(file) && Number(file.slice(0, 4)) < 8) {
          await copyFile(path.join(MIGRATIONS_DIR, file), path.join(before, file));
        }
      }
      const db = await auditDb(before);
      await db.pool.query(`INSERT INTO api_keys (key_hash, key_prefix, role) VALUES ('\\x01', 'ssk_abc', 'admin')`);
      await db.pool.query(
        `INSERT INTO audit_log (at, api_key_id, actor, action, entity, entity_id, details) VALUES
           ('2024-03-01 10:00:00.123456+05:30', NULL, 'cli', 'operator.create', 'operator', '1', '{"code": "JIO"}'),
           ('2024-03-01 10:00:01+00', (SELECT id FROM api_keys), 'key:1', 'batch.upload', 'batch', 'b-1',
            '{"z": [1.50, 1e-7, null], "a": {"q": "x\\"\\\\\\n\\u0001", "name": "मोहम्मद 😀"}, "n": 12345678901234567890}'),
           (now(), NULL, 'cli', 'api_key.revoke', 'api_key', '1', '{}')`,
      );
      // A deleted row leaves a gap in id; seq must not have one.
      await db.pool.query(`DELETE FROM audit_log WHERE action = 'batch.upload'`);
      await db.pool.query(
        `INSERT INTO audit_log (api_key_id, actor, action, entity, entity_id, details)
           VALUES (NULL, 'cli', 'batch.upload', 'batch', 'b-2', '{"accepted": 2, "note": "tab\\there"}')`,
      );
      await migrate(db.databaseUrl);
      expect(await db.verify(2)).toMatchObject({ ok: true, checked: 3, head: { seq: 3 } });
      // New rows continue the backfilled chain.
      await appendEntries(db.pool, 2);
      expect(await db.verify(2)).toMatchObject({ ok: true, checked: 5, head: { seq: 5 } });
      await tamper(db.pool, `UPDATE audit_log SET details = '{"code": "AIRTEL"}' WHERE seq = 1`);
      expect((await db.verify()).issues).toEqual([expect.objectContaining({ kind: 'edited', seq: 1 })]);
    } finally {
      await rm(before, { recursive: true, force: true });
    }
  });
});

describe('simsift audit verify', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv();
  });

  afterAll(async () => {
    await env?.close();
  });

  async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
    const run = promisify(execFile);
    try {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify', ...args],
        {
          cwd: PROJECT_ROOT,
          env: env.childEnv(),
        },
      );
      return { code: 0, stdout };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string };
      if (typeof failed.code !== 'number') throw error;
      return { code: failed.code, stdout: failed.stdout ?? '' };
    }
  }

  it('covers what the services record, exits 0 when intact and 1 with the seq when tampered', async () => {
    // Operator and key creation write audit rows through the pool, outside any caller transaction.
    await env.key('operator', 'JIO');
    await env.key('admin');
    const counted = await env.container.pool.query<{ n: number }>('SELECT count(*)::bigint AS n FROM audit_log');
    const count = counted.rows[0]?.n ?? 0;
    expect(count).toBeGreaterThanOrEqual(3);

    const intact = await cli('--json');
    expect(intact.code).toBe(0);
    expect(JSON.parse(intact.stdout)).toMatchObject({ ok: true, checked: count, head: { seq: count }, issues: [] });

    await tamper(env.container.pool, `UPDATE audit_log SET details = '{"role": "admin"}' WHERE seq = 2`);
    const tampered = await cli();
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/audit trail TAMPERED/);
    expect(tampered.stdout).toMatch(/seq 2\tedited/);
  }, 60_000);
});

/**
 * The app connects as a user that owns nothing: the schema owner migrates and grants it reads and writes, so a
 * compromised API process cannot disable the audit triggers, truncate a table or rewrite the audit log.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { createPool, migrateDatabase, type Pool } from '../../src/repositories/database.js';
import { tinyJpeg } from '../helpers/photos.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let env: TestEnv;
let role: string;
let appUrl: string;
let app: Pool;

/** Runs SQL as the app's user and returns the Postgres error code it fails with ('' when it succeeds). */
async function failsWith(sql: string): Promise<string> {
  try {
    await app.query(sql);
    return '';
  } catch (error) {
    return (error as { code?: string }).code ?? 'unknown';
  }
}

beforeAll(async () => {
  env = await createTestEnv();
  role = `simsift_app_${randomBytes(4).toString('hex')}`;
  await env.container.pool.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
  const url = new URL(env.config.databaseUrl);
  url.username = role;
  appUrl = url.toString();
  await migrateDatabase({ databaseUrl: appUrl, databaseOwnerUrl: env.config.databaseUrl });
  app = createPool(appUrl, 2);
});

afterAll(async () => {
  await app?.end();
  await env?.close();
  if (role) {
    const admin = new pg.Client({ connectionString: new URL('/postgres', env.config.databaseUrl).toString() });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    await admin.end();
  }
});

describe('the app database user', () => {
  it('runs the API: an upload is accepted and audited', async () => {
    const container = createContainer({ ...env.config, databaseUrl: appUrl }, createLogger({ logLevel: 'silent' }));
    const api = await buildApp({ container, logger: createLogger({ logLevel: 'silent' }) });
    try {
      const key = await env.key('operator', 'JIO');
      const boundary = 'x-simsift-test';
      const parts = [
        `--${boundary}\r\nContent-Disposition: form-data; name="manifest"; filename="manifest.csv"\r\n\r\n`,
        manifestCsv([sampleRow(1, 'a.jpg')]),
        `\r\n--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n` +
          'Content-Type: image/jpeg\r\n\r\n',
      ];
      const body = Buffer.concat([
        Buffer.from(parts.join('')),
        await tinyJpeg(1, 64),
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const answer = await api.inject({
        method: 'POST',
        url: '/v1/batches',
        headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: body,
      });
      expect(answer.statusCode).toBe(202);
      expect(JSON.parse(answer.body)).toMatchObject({ accepted: 1 });
      expect((await env.container.auditChain.verify()).ok).toBe(true);
    } finally {
      await api.close();
      await container.close();
    }
  });

  it('cannot disable the audit triggers, rewrite or truncate the logs, or change the schema', async () => {
    const insufficientPrivilege = '42501';
    expect(await failsWith('ALTER TABLE audit_log DISABLE TRIGGER ALL')).toBe(insufficientPrivilege);
    expect(await failsWith('DELETE FROM audit_log')).toBe(insufficientPrivilege);
    expect(await failsWith("UPDATE audit_log SET actor = 'x'")).toBe(insufficientPrivilege);
    expect(await failsWith('TRUNCATE access_log')).toBe(insufficientPrivilege);
    expect(await failsWith('TRUNCATE kyc_records CASCADE')).toBe(insufficientPrivilege);
    expect(await failsWith('DROP TABLE faces')).toBe(insufficientPrivilege);
    expect(await failsWith('DELETE FROM schema_migrations')).toBe(insufficientPrivilege);
    // What it needs, it has.
    expect(await failsWith('SELECT count(*) FROM kyc_records')).toBe('');
  });
});

/**
 * The API's read cache (API keys, batch status) against real Postgres: it serves repeated reads from memory,
 * yet every committed change made by another process (a worker, the CLI) shows at once through migration
 * 0012's notifications, and while the notification connection is down nothing is cached.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createContainer } from '../../src/container.js';
import { tinyJpeg } from '../helpers/photos.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
let other: pg.Client;
let key: string;
let batchId: string;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
  batchId = (await uploadPhotos(env.url, key, [await tinyJpeg(1), await tinyJpeg(2)])).batch_id;
  // Another process's connection: what a face worker or the CLI would write through.
  other = new pg.Client({ connectionString: env.config.databaseUrl });
  await other.connect();
});

afterAll(async () => {
  await other?.end();
  await env?.close();
});

async function batchCounts(): Promise<Record<string, number>> {
  const response = await fetch(`${env.url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { counts: Record<string, number> }).counts;
}

async function feedConnected(): Promise<boolean> {
  const result = await other.query(
    `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'simsift-change-feed'`,
  );
  return result.rowCount === 1;
}

/** Waits (2 s at most) until GET /v1/batches/:id counts one record in `state`. */
async function untilOneRecordIn(state: string, what: string): Promise<void> {
  const seen = await waitFor(async () => ((await batchCounts())[state] === 1 ? true : undefined), 2_000, what);
  expect(seen).toBe(true);
}

async function setOneRecordState(state: string): Promise<void> {
  await other.query(
    `UPDATE kyc_records SET state = $2::text, updated_at = now()
     WHERE id = (SELECT min(id) FROM kyc_records WHERE batch_id = $1::uuid)`,
    [batchId, state],
  );
}

describe('read cache fed by Postgres notifications', () => {
  it('serves a polled batch from memory until a notification names it', async () => {
    expect(await feedConnected()).toBe(true);
    const before = await batchCounts();
    // A change the trigger does not announce stays invisible: proof the answer came from the cache.
    await other.query('ALTER TABLE kyc_records DISABLE TRIGGER kyc_records_updated_notify');
    try {
      await setOneRecordState('multiple_faces');
    } finally {
      await other.query('ALTER TABLE kyc_records ENABLE TRIGGER kyc_records_updated_notify');
    }
    expect(await batchCounts()).toEqual(before);
    await other.query(`SELECT pg_notify('simsift_batches', '00000000-0000-0000-0000-000000000000')`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await batchCounts()).toEqual(before);
    await other.query(`SELECT pg_notify('simsift_batches', $1::text)`, [batchId]);
    await untilOneRecordIn('multiple_faces', 'the notified batch to be read again');
  });

  it('shows a record state written by another process as soon as it is committed', async () => {
    const before = await batchCounts();
    expect(before.unreadable_image).toBe(0);
    expect(await batchCounts()).toEqual(before);
    await setOneRecordState('unreadable_image');
    // The cache would hold the old counts for 30 s; the notification must drop them within moments.
    await untilOneRecordIn('unreadable_image', 'the new state in GET /v1/batches/:id');
  });

  it('refuses a key revoked by another process (the CLI) within moments', async () => {
    const created = await env.container.auth.createKey({
      role: 'operator',
      operatorCode: 'JIO',
      label: 'to revoke',
      actor: 'test',
      actorKeyId: null,
    });
    const read = () =>
      fetch(`${env.url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${created.key}` } });
    expect((await read()).status).toBe(200);
    expect((await read()).status).toBe(200);
    const cli = createContainer(env.config, { warn: () => undefined });
    try {
      await cli.auth.revokeKey(created.id, 'test', null);
    } finally {
      await cli.close();
    }
    const refused = await waitFor(
      async () => ((await read()).status === 401 ? true : undefined),
      2_000,
      'the revoked key to be refused',
    );
    expect(refused).toBe(true);
  });

  it('reads straight from Postgres while the notification connection is down, and caches again once it is back', async () => {
    await other.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'simsift-change-feed'`,
    );
    await waitFor(async () => ((await feedConnected()) ? undefined : true), 2_000, 'the feed to drop');
    // Writes made while the feed is down are never announced to this process; they must still show.
    await setOneRecordState('low_quality');
    expect((await batchCounts()).low_quality).toBe(1);
    await waitFor(async () => ((await feedConnected()) ? true : undefined), 10_000, 'the feed to reconnect');
    await batchCounts();
    await setOneRecordState('no_face');
    await untilOneRecordIn('no_face', 'the state written after the feed came back');
  });
});

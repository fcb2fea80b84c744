/**
 * Erasure on request (DPDP Act 2023): a subscriber's records, faces, candidates, photos and thumbnails go, the
 * clusters they were in are judged again, and the audit log records it without the number or the document.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRow } from '../../src/demo/sample-batch.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createLogger } from '../../src/logger.js';
import { startWorkers } from '../helpers/in-process-workers.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
const keys: Record<string, string> = {};
let workers: { close(): Promise<void> } | undefined;
const logger = createLogger({ logLevel: 'silent' });

const count = (from: string, values: unknown[] = []) => env.count(from, values);

async function erase(key: string, body: Record<string, string>) {
  const response = await fetch(`${env.url}/v1/erasures`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  env = await createTestEnv({ clusterSweepMs: 1_000, clearedRetentionDays: 30, photoRetentionDays: 30 });
  Object.assign(keys, await env.keys(['JIO'], ['admin', 'analyst']));
  workers = await startWorkers(env.config, logger);
  // Subscribers 1 and 2: one face under two names (a flagged ring); subscriber 3: someone else.
  await uploadPhotos(
    env.url,
    keys.jio!,
    [await portrait(1, 0, 0), await portrait(1, 0, 1), await portrait(3, 1, 0)],
    1,
  );
  await waitFor(async () => ((await count('block_candidates')) === 2 ? true : undefined), 120_000, 'the ring');
}, 180_000);

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

describe('POST /v1/erasures', () => {
  it("erases a subscriber by number: records, face, candidates, photo and thumbnail, and the ring's verdict", async () => {
    const subscriber = sampleRow(1, 'photo');
    const files = await env.container.pool.query<{ thumbnail: string; sha256: Buffer; mime: string }>(
      `SELECT f.thumbnail_path AS thumbnail, r.photo_sha256 AS sha256, p.mime_type AS mime FROM kyc_records r
       JOIN faces f ON f.record_id = r.id JOIN photos p ON p.sha256 = r.photo_sha256 WHERE r.msisdn = $1::text`,
      [`+91${subscriber.msisdn.slice(-10)}`],
    );
    expect(files.rows).toHaveLength(1);
    const { thumbnail, sha256, mime } = files.rows[0]!;
    const photoFile = env.container.photos.pathFor(sha256, mime as 'image/jpeg');
    expect(existsSync(photoFile)).toBe(true);
    expect(existsSync(path.join(env.config.dataDir, thumbnail))).toBe(true);

    const erased = await erase(keys.admin!, { msisdn: subscriber.msisdn });
    expect(erased).toMatchObject({
      status: 200,
      body: { records: 1, faces: 1, clusters: 1, candidates: 1, photos: 1 },
    });
    expect(await count('kyc_records WHERE photo_sha256 = $1::bytea', [sha256])).toBe(0);
    expect(await count('faces WHERE photo_sha256 = $1::bytea', [sha256])).toBe(0);
    expect(await count('photos WHERE sha256 = $1::bytea', [sha256])).toBe(0);
    expect(existsSync(photoFile)).toBe(false);
    expect(existsSync(path.join(env.config.dataDir, thumbnail))).toBe(false);

    // One face under one name is no ring: the cluster worker judges the cluster again and withdraws it.
    await waitFor(async () => ((await count('block_candidates')) === 0 ? true : undefined), 60_000, 'the verdict');
    expect(await count('clusters WHERE flagged')).toBe(0);

    // The audit row names internal ids and counts, never the number.
    const audit = await env.container.pool.query<{ details: unknown; entity_id: string }>(
      "SELECT details, entity_id FROM audit_log WHERE action = 'subscriber.erase'",
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]!.details).toMatchObject({ by: 'msisdn', candidates: 1, photos: 1 });
    expect(JSON.stringify(audit.rows)).not.toContain(subscriber.msisdn.slice(-10));
    expect(await erase(keys.admin!, { msisdn: subscriber.msisdn })).toMatchObject({ body: { records: 0 } });
  }, 120_000);

  it('erases by identity document, hashed as stored', async () => {
    const subscriber = sampleRow(3, 'photo');
    const erased = await erase(keys.admin!, { id_type: subscriber.id_type, id_number: subscriber.id_number });
    expect(erased).toMatchObject({ status: 200, body: { records: 1, faces: 1, photos: 1 } });
    expect(await count('kyc_records')).toBe(1);
    const audit = await env.container.pool.query<{ details: unknown }>(
      "SELECT details FROM audit_log WHERE action = 'subscriber.erase' ORDER BY seq DESC LIMIT 1",
    );
    expect(JSON.stringify(audit.rows)).not.toContain(subscriber.id_number);
  });

  it('is for admins only, and refuses a request that names no subscriber or two ways', async () => {
    for (const key of [keys.jio!, keys.analyst!]) {
      expect((await erase(key, { msisdn: sampleRow(2, 'photo').msisdn })).status).toBe(403);
    }
    expect(await count('kyc_records')).toBe(1);
    const both = {
      msisdn: sampleRow(2, 'photo').msisdn,
      id_type: 'aadhaar',
      id_number: sampleRow(2, 'photo').id_number,
    };
    const bodies: Record<string, string>[] = [
      {},
      both,
      { id_type: 'aadhaar' },
      { id_type: 'ration_card', id_number: '1' },
    ];
    for (const body of bodies) {
      expect(await erase(keys.admin!, body)).toMatchObject({ status: 400, body: { code: 'erasure_subject_invalid' } });
    }
    expect(await erase(keys.admin!, { msisdn: '12345' })).toMatchObject({
      status: 400,
      body: { code: 'invalid_msisdn' },
    });
    expect(await count('kyc_records')).toBe(1);
  });
});

describe('retention of cleared subscribers', () => {
  it("erases the records of subscribers analysts cleared, once the retention has passed, and no one else's", async () => {
    // Subscribers 20 and 21: one face under two names, flagged, then cleared by an analyst.
    await uploadPhotos(env.url, keys.jio!, [await portrait(3, 0, 0), await portrait(3, 0, 1)], 20);
    const flagged = await waitFor(
      async () => {
        const rows = await env.container.pool.query<{ clusterId: number }>(
          `SELECT DISTINCT b.cluster_id AS "clusterId" FROM block_candidates b JOIN kyc_records r ON r.id = b.record_id
           WHERE r.msisdn = ANY($1::text[])`,
          [[20, 21].map((n) => `+91${sampleRow(n, 'photo').msisdn.slice(-10)}`)],
        );
        return rows.rows.length === 1 ? rows.rows[0]!.clusterId : undefined;
      },
      120_000,
      'the second ring',
    );
    const dismissed = await fetch(`${env.url}/v1/clusters/${flagged}/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.analyst}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'dismiss', reason: 'different_people' }),
    });
    expect(dismissed.status).toBe(200);
    const before = await count('kyc_records');

    // Decided just now: within the retention, kept.
    expect(await env.container.erasure.applyRetention()).toMatchObject({ records: 0 });
    await env.container.pool.query(
      `UPDATE block_candidates SET decided_at = now() - interval '31 days' WHERE cluster_id = $1::bigint`,
      [flagged],
    );
    expect(await env.container.erasure.applyRetention()).toMatchObject({ records: 2, faces: 2, candidates: 2 });
    expect(await count('kyc_records')).toBe(before - 2);
    const audit = await env.container.pool.query<{ details: { by: string } }>(
      "SELECT details FROM audit_log WHERE action = 'subscriber.erase' ORDER BY seq DESC LIMIT 1",
    );
    expect(audit.rows[0]!.details.by).toBe('retention');
    expect(await env.container.erasure.applyRetention()).toMatchObject({ records: 0 });
  }, 180_000);
});

describe('photo retention', () => {
  it('deletes original photos past their retention, keeping the face and its thumbnail, and a re-upload restores one', async () => {
    const kept = await env.container.pool.query<{ faceId: number; sha256: Buffer; mime: string }>(
      `SELECT f.id AS "faceId", p.sha256, p.mime_type AS mime FROM faces f JOIN photos p ON p.sha256 = f.photo_sha256
       ORDER BY f.id LIMIT 1`,
    );
    const { faceId, sha256, mime } = kept.rows[0]!;
    const file = env.container.photos.pathFor(sha256, mime as 'image/jpeg');
    expect(await env.container.erasure.applyPhotoRetention()).toBe(0);
    await env.container.pool.query(
      "UPDATE photos SET created_at = now() - interval '31 days' WHERE sha256 = $1::bytea",
      [sha256],
    );
    expect(await env.container.erasure.applyPhotoRetention()).toBe(1);
    expect(existsSync(file)).toBe(false);
    const get = (what: string) =>
      fetch(`${env.url}/v1/faces/${faceId}/${what}`, { headers: { authorization: `Bearer ${keys.analyst}` } });
    const photo = await get('photo');
    expect(photo.status).toBe(410);
    expect(await photo.json()).toMatchObject({ code: 'photo_expired' });
    expect((await get('thumbnail')).status).toBe(200);
    expect(await count('faces WHERE id = $1::bigint', [faceId])).toBe(1);
    expect(await env.container.erasure.applyPhotoRetention()).toBe(0);

    // The same picture uploaded again is a photo again.
    const bytes = await portrait(1, 0, 1);
    await uploadPhotos(env.url, keys.jio!, [bytes], 40);
    await waitFor(
      async () =>
        (await count('photos WHERE sha256 = $1::bytea AND purged_at IS NULL', [sha256])) === 1 ? true : undefined,
      30_000,
      'the photo restored',
    );
    expect(existsSync(file)).toBe(true);
    expect((await get('photo')).status).toBe(200);
  }, 120_000);
});

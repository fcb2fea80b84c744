import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, sampleRow, type SampleRow } from '../../src/demo/sample-batch.js';
import { buildApp } from '../../src/app.js';
import { embedRecordJobId } from '../../src/jobs/job-registry.js';
import { createLogger } from '../../src/logger.js';
import { logCapture } from '../helpers/log-capture.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { pngDeclaring, samplePhoto, tinyJpeg, tinyPng, tinyWebp } from '../helpers/photos.js';
import { zipOf } from '../helpers/zip.js';

interface UploadResult {
  batch_id: string;
  accepted: number;
  rejected: number;
  errors: { row: number; field: string; code: string; message: string }[];
}

/** Everything the server logged, to prove identity documents never reach the logs. */
const { lines: logLines, sink: logSink } = logCapture();

let env: TestEnv;
let operatorKey: string;
let otherOperatorKey: string;
let analystKey: string;
let adminKey: string;

beforeAll(async () => {
  env = await createTestEnv({ logLevel: 'trace' }, logSink);
  operatorKey = await env.key('operator', 'JIO');
  otherOperatorKey = await env.key('operator', 'AIRTEL');
  analystKey = await env.key('analyst');
  adminKey = await env.key('admin');
});

afterAll(async () => {
  await env?.close();
});

function multipart(manifest: string | null, photos: Record<string, Buffer>): FormData {
  const form = new FormData();
  if (manifest !== null) form.append('manifest', new Blob([manifest], { type: 'text/csv' }), 'manifest.csv');
  for (const [name, bytes] of Object.entries(photos)) form.append(name, new Blob([bytes]), name);
  return form;
}

function zip(files: Record<string, Buffer | string>): Promise<Buffer> {
  return zipOf(Object.entries(files).map(([name, content]) => ({ name, content })));
}

async function post(
  body: FormData | Buffer,
  options: { key?: string | null; headers?: Record<string, string>; query?: string } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? operatorKey : options.key;
  if (key) headers.authorization = `Bearer ${key}`;
  if (Buffer.isBuffer(body) && !headers['content-type']) headers['content-type'] = 'application/zip';
  const response = await fetch(`${env.url}/v1/batches${options.query ?? ''}`, {
    method: 'POST',
    headers,
    body: Buffer.isBuffer(body) ? new Uint8Array(body) : body,
  });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

async function get(pathAndQuery: string, key = operatorKey) {
  const response = await fetch(`${env.url}${pathAndQuery}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

let rowSeed = 1;
/** `count` valid rows with distinct subscribers and photos named p<seed>.jpg. */
async function validRows(count: number): Promise<{ rows: SampleRow[]; photos: Record<string, Buffer> }> {
  const rows: SampleRow[] = [];
  const photos: Record<string, Buffer> = {};
  for (let i = 0; i < count; i++) {
    const seed = rowSeed++;
    const name = `p${seed}.jpg`;
    rows.push(sampleRow(seed, name));
    photos[name] = await tinyJpeg(seed);
  }
  return { rows, photos };
}

const recordCount = (batchId: string) => env.count('kyc_records WHERE batch_id = $1::uuid', [batchId]);

describe('POST /v1/batches (multipart)', () => {
  it('accepts good rows, rejects bad ones row by row, stores and queues the accepted', async () => {
    const { rows, photos } = await validRows(3);
    const badAadhaar = { ...sampleRow(rowSeed++, rows[0]!.photo), id_number: '234123412345' };
    const badMsisdn = { ...sampleRow(rowSeed++, rows[0]!.photo), msisdn: '+1 415 555 0100' };
    const missingPhoto = sampleRow(rowSeed++, 'nowhere.jpg');
    const textPhoto = sampleRow(rowSeed++, 'text.jpg');
    const manifest = manifestCsv([...rows, badAadhaar, badMsisdn, missingPhoto, textPhoto]);
    const response = await post(multipart(manifest, { ...photos, 'text.jpg': Buffer.from('not an image at all') }));

    expect(response.status).toBe(202);
    const result = response.body as unknown as UploadResult;
    expect(result.accepted).toBe(3);
    expect(result.rejected).toBe(4);
    expect(result.errors.map((e) => [e.row, e.field, e.code])).toEqual([
      [4, 'id_number', 'invalid_aadhaar_checksum'],
      [5, 'msisdn', 'invalid_msisdn'],
      [6, 'photo', 'photo_missing'],
      [7, 'photo', 'unsupported_image_type'],
    ]);

    const records = await env.container.pool.query<{
      id: number;
      msisdn: string;
      state: string;
      row_number: number;
      queueStamp: number;
    }>(
      `SELECT id, msisdn, state, row_number, queue_stamp AS "queueStamp" FROM kyc_records WHERE batch_id = $1::uuid
       ORDER BY row_number`,
      [result.batch_id],
    );
    expect(records.rows.map((r) => [r.row_number, r.msisdn, r.state])).toEqual(
      rows.map((row, i) => [i + 1, row.msisdn, 'queued']),
    );
    const jobIds = await env.container.facesQueue.jobIds();
    // Each under an id that carries its queue stamp: a database restore hands record ids out again, not stamps.
    for (const record of records.rows) {
      expect(record.queueStamp).toBeGreaterThan(Date.parse('2026-01-01'));
      expect(jobIds).toContain(embedRecordJobId(record));
      expect(embedRecordJobId(record)).toBe(`embed-${record.id}-${record.queueStamp}`);
    }
  });

  it('never stores or logs an identity document in plain text', async () => {
    const row = sampleRow(rowSeed++, 'doc.jpg');
    const aadhaar = row.id_number;
    const badRow = {
      ...sampleRow(rowSeed++, 'doc.jpg'),
      id_number: aadhaar.slice(0, 11) + String((Number(aadhaar[11]) + 1) % 10),
    };
    const response = await post(multipart(manifestCsv([row, badRow]), { 'doc.jpg': await tinyJpeg(rowSeed) }));
    expect(response.status).toBe(202);
    expect(JSON.stringify(response.body)).not.toContain(aadhaar.slice(0, 8));

    const stored = await env.container.pool.query<{ id_masked: string; id_hmac: Buffer }>(
      'SELECT id_masked, id_hmac FROM kyc_records WHERE msisdn = $1::text',
      [row.msisdn],
    );
    expect(stored.rows[0]!.id_masked).toBe(`XXXXXXXX${aadhaar.slice(-4)}`);
    expect(stored.rows[0]!.id_hmac).toHaveLength(32);
    // A dump of every table the upload touched holds neither the number nor its first eight digits.
    for (const table of ['kyc_records', 'batches', 'audit_log']) {
      const dump = await env.container.pool.query(`SELECT t::text AS row FROM ${table} t`);
      const text = dump.rows.map((r: { row: string }) => r.row).join('\n');
      expect(text).not.toContain(aadhaar);
      expect(text).not.toContain(aadhaar.slice(0, 8));
    }
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(aadhaar.slice(0, 8));
    expect(logLines.join('')).not.toContain(operatorKey);
  });

  it('stores the same photo bytes once, content-addressed', async () => {
    const photo = await samplePhoto(1);
    const before = await listPhotoFiles();
    const first = await post(multipart(manifestCsv([sampleRow(rowSeed++, 'a.jpg')]), { 'a.jpg': photo }));
    const second = await post(multipart(manifestCsv([sampleRow(rowSeed++, 'b.jpg')]), { 'b.jpg': photo }));
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    const after = await listPhotoFiles();
    expect(after.length - before.length).toBe(1);
    expect(after.filter((f) => !before.includes(f))[0]).toMatch(/^[0-9a-f]{64}\.jpg$/);
    const hashes = await env.container.pool.query<{ h: string }>(
      `SELECT DISTINCT encode(photo_sha256, 'hex') AS h FROM kyc_records WHERE batch_id = ANY($1::uuid[])`,
      [[first.body.batch_id, second.body.batch_id]],
    );
    expect(hashes.rows).toHaveLength(1);
  });

  it('decides the photo type by content: PNG and WebP accepted whatever their names', async () => {
    const rows = [sampleRow(rowSeed++, 'png-named.jpg'), sampleRow(rowSeed++, 'webp.bin')];
    const response = await post(
      multipart(manifestCsv(rows), { 'png-named.jpg': await tinyPng(rowSeed), 'webp.bin': await tinyWebp(rowSeed) }),
    );
    expect(response.body).toMatchObject({ accepted: 2, rejected: 0 });
    const types = await env.container.pool.query<{ mime_type: string }>(
      `SELECT p.mime_type FROM kyc_records r JOIN photos p ON p.sha256 = r.photo_sha256
       WHERE r.batch_id = $1::uuid ORDER BY r.row_number`,
      [response.body.batch_id],
    );
    expect(types.rows.map((r) => r.mime_type)).toEqual(['image/png', 'image/webp']);
  });

  it('rejects a photo over the pixel limit by its header, without decoding it', async () => {
    const response = await post(
      multipart(manifestCsv([sampleRow(rowSeed++, 'bomb.png')]), { 'bomb.png': await pngDeclaring(30_000, 30_000) }),
    );
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ accepted: 0, rejected: 1 });
    expect((response.body as unknown as UploadResult).errors[0]).toMatchObject({
      field: 'photo',
      code: 'photo_too_many_pixels',
    });
  });

  it('reports a duplicate MSISDN inside one batch on the later row', async () => {
    const { rows, photos } = await validRows(2);
    rows[1] = { ...rows[1]!, msisdn: rows[0]!.msisdn.replace('+91', '0') };
    const response = await post(multipart(manifestCsv(rows), photos));
    expect(response.body).toMatchObject({ accepted: 1, rejected: 1 });
    expect((response.body as unknown as UploadResult).errors).toEqual([
      expect.objectContaining({ row: 2, field: 'msisdn', code: 'duplicate_msisdn' }),
    ]);
  });

  it('rejects the whole batch for a manifest without required columns, or not CSV', async () => {
    const before = await batchCount();
    const noColumns = await post(multipart('msisdn,name\n9876543210,Asha\n', {}));
    expect(noColumns.status).toBe(400);
    expect(noColumns.type).toMatch(/^application\/problem\+json/);
    expect(noColumns.body).toMatchObject({ status: 400, code: 'manifest_missing_columns' });
    expect((noColumns.body.details as { missing: string[] }).missing).toContain('id_number');

    const binary = await post(multipart((await tinyPng(3)).toString('latin1'), {}));
    expect(binary.status).toBe(400);
    expect(['manifest_not_csv', 'manifest_missing_columns']).toContain(binary.body.code);

    const unknown = await post(
      multipart(manifestCsv([sampleRow(rowSeed++, 'x.jpg')]).replace('address', 'aadhar'), {}),
    );
    expect(unknown.body).toMatchObject({ status: 400, code: 'manifest_unknown_columns' });

    const missing = await post(multipart(null, { 'x.jpg': await tinyJpeg(5) }));
    expect(missing.body).toMatchObject({ status: 400, code: 'manifest_missing' });
    expect(await batchCount()).toBe(before);
  });

  it('enforces the upload, row and photo size limits with clear codes', async () => {
    const small = await createTestEnv({
      upload: {
        maxUploadBytes: 50_000,
        maxRowsPerBatch: 2,
        maxManifestBytes: 10_000,
        maxPhotoBytes: 2_000,
        maxPhotoPixels: 1_000_000,
      },
    });
    try {
      const key = await small.key('operator', 'VI');
      const send = async (body: FormData) => {
        const response = await fetch(`${small.url}/v1/batches`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body,
        });
        return { status: response.status, body: (await response.json()) as Record<string, unknown> };
      };
      const tooManyRows = await send(multipart(manifestCsv([1, 2, 3].map((n) => sampleRow(rowSeed + n, 'a.jpg'))), {}));
      expect(tooManyRows).toMatchObject({ status: 413, body: { code: 'too_many_rows' } });

      const tooBig = await send(
        multipart(manifestCsv([sampleRow(rowSeed++, 'big.jpg')]), { 'big.jpg': Buffer.alloc(60_000, 1) }),
      );
      expect(tooBig).toMatchObject({ status: 413, body: { code: 'upload_too_large' } });

      const bigPhoto = await samplePhoto(2);
      expect(bigPhoto.length).toBeGreaterThan(2_000);
      const photoTooLarge = await send(
        multipart(manifestCsv([sampleRow(rowSeed++, 'p.jpg'), sampleRow(rowSeed++, 'ok.jpg')]), {
          'p.jpg': bigPhoto.subarray(0, 20_000),
          'ok.jpg': await tinyJpeg(9, 8),
        }),
      );
      expect(photoTooLarge.status).toBe(202);
      expect(photoTooLarge.body).toMatchObject({ accepted: 1, rejected: 1 });
      expect((photoTooLarge.body as unknown as UploadResult).errors[0]).toMatchObject({
        row: 1,
        code: 'photo_too_large',
      });
    } finally {
      await small.close();
    }
  });

  it('answers 415 for an unsupported body type', async () => {
    const response = await fetch(`${env.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'text/csv' },
      body: 'msisdn\n',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'unsupported_media_type' });
  });
});

describe('POST /v1/batches (zip)', () => {
  it('accepts manifest.csv plus photos in folders', async () => {
    const { rows, photos } = await validRows(2);
    const files: Record<string, Buffer | string> = { 'kyc/manifest.csv': manifestCsv(rows), '__MACOSX/._junk': 'x' };
    for (const [name, bytes] of Object.entries(photos)) files[`kyc/photos/${name}`] = bytes;
    const response = await post(await zip(files));
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ accepted: 2, rejected: 0, errors: [] });
    expect(await recordCount(response.body.batch_id as string)).toBe(2);
  });

  it('rejects a body that is not a zip, and a zip without manifest.csv', async () => {
    const notZip = await post(Buffer.from('PK but not really a zip file'));
    expect(notZip).toMatchObject({ status: 400, body: { code: 'invalid_zip' } });
    const noManifest = await post(await zip({ 'a.jpg': await tinyJpeg(1) }));
    expect(noManifest).toMatchObject({ status: 400, body: { code: 'manifest_missing' } });
  });
});

describe('idempotency', () => {
  it('returns the same batch for a retry and creates nothing new', async () => {
    const { rows, photos } = await validRows(2);
    const form = () => multipart(manifestCsv(rows), photos);
    const headers = { 'idempotency-key': `retry-${rowSeed}` };
    const first = await post(form(), { headers });
    const retry = await post(form(), { headers });
    expect(first.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await recordCount(first.body.batch_id as string)).toBe(2);
    const batches = await env.container.pool.query('SELECT 1 FROM batches WHERE idempotency_key = $1::text', [
      headers['idempotency-key'],
    ]);
    expect(batches.rowCount).toBe(1);
  });

  it('creates one batch when two requests with one key race', async () => {
    const { rows, photos } = await validRows(3);
    const headers = { 'idempotency-key': `race-${rowSeed}` };
    const [a, b] = await Promise.all([
      post(multipart(manifestCsv(rows), photos), { headers }),
      post(multipart(manifestCsv(rows), photos), { headers }),
    ]);
    expect(a.body.batch_id).toBe(b.body.batch_id);
    expect(await recordCount(a.body.batch_id as string)).toBe(3);
  });

  it('scopes keys per operator: the same key from two operators makes two batches', async () => {
    const { rows, photos } = await validRows(1);
    const headers = { 'idempotency-key': `shared-${rowSeed}` };
    const a = await post(multipart(manifestCsv(rows), photos), { headers });
    const b = await post(multipart(manifestCsv(rows), photos), { headers, key: otherOperatorKey });
    expect(a.body.batch_id).not.toBe(b.body.batch_id);
  });
});

describe('auth and roles', () => {
  it('401 without or with a bad key, 403 for the wrong role', async () => {
    const form = multipart(manifestCsv([sampleRow(rowSeed++, 'a.jpg')]), {});
    expect(await post(form, { key: null })).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    expect(await post(form, { key: 'ssk_not-a-real-key' })).toMatchObject({
      status: 401,
      body: { code: 'invalid_api_key' },
    });
    expect(await post(form, { key: analystKey })).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect((await get('/v1/batches', 'garbage')).status).toBe(401);
  });

  it('shows an operator only its own batches; another operator gets 404; analysts see all', async () => {
    const { rows, photos } = await validRows(1);
    const mine = await post(multipart(manifestCsv(rows), photos));
    const id = mine.body.batch_id as string;
    expect((await get(`/v1/batches/${id}`)).status).toBe(200);
    expect(await get(`/v1/batches/${id}`, otherOperatorKey)).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
    expect((await get(`/v1/batches/${id}/records`, otherOperatorKey)).status).toBe(404);
    expect((await get(`/v1/batches/${id}`, analystKey)).body).toMatchObject({ id, operator: 'JIO' });
    const othersList = await get('/v1/batches?limit=500', otherOperatorKey);
    expect((othersList.body.items as { id: string }[]).map((b) => b.id)).not.toContain(id);
    const analystList = await get('/v1/batches?limit=500', analystKey);
    expect((analystList.body.items as { id: string }[]).map((b) => b.id)).toContain(id);
  });

  it('lets an admin upload for a named operator, and stops an operator key naming another', async () => {
    const { rows, photos } = await validRows(1);
    const unnamed = await post(multipart(manifestCsv(rows), photos), { key: adminKey });
    expect(unnamed).toMatchObject({ status: 400, body: { code: 'operator_required' } });
    const named = await post(multipart(manifestCsv(rows), photos), { key: adminKey, query: '?operator=airtel' });
    expect(named.status).toBe(202);
    expect((await get(`/v1/batches/${named.body.batch_id as string}`, otherOperatorKey)).status).toBe(200);
    const mismatch = await post(multipart(manifestCsv(rows), photos), { query: '?operator=AIRTEL' });
    expect(mismatch).toMatchObject({ status: 403, body: { code: 'operator_mismatch' } });
  });

  it('keeps keys hashed and lets only admins create them', async () => {
    const created = await fetch(`${env.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'operator', operator: 'JIO' }),
    });
    expect(created.status).toBe(201);
    const { key, id } = (await created.json()) as { key: string; id: number };
    expect((await get('/v1/batches', key)).status).toBe(200);
    const stored = await env.container.pool.query<{ row: string }>('SELECT k::text AS row FROM api_keys k');
    expect(stored.rows.map((r) => r.row).join()).not.toContain(key.slice(4));
    const forbidden = await fetch(`${env.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operatorKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'admin' }),
    });
    expect(forbidden.status).toBe(403);
    const revoke = await fetch(`${env.url}/v1/keys/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoke.status).toBe(204);
    expect((await get('/v1/batches', key)).status).toBe(401);
  });
});

describe('following a batch', () => {
  it('reports counts per state and progress, and pages records by keyset', async () => {
    const { rows, photos } = await validRows(5);
    const upload = await post(multipart(manifestCsv(rows), photos));
    const id = upload.body.batch_id as string;
    const batch = await get(`/v1/batches/${id}`);
    expect(batch.body).toMatchObject({ id, state: 'processing', accepted: 5, rejected: 0, progress: 0 });
    expect((batch.body.counts as Record<string, number>).queued).toBe(5);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(`/v1/batches/${id}/records?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      const items = page.body.items as { rowNumber: number; idMasked: string }[];
      expect(items.length).toBeLessThanOrEqual(2);
      seen.push(...items.map((item) => item.rowNumber));
      for (const item of items) expect(item.idMasked).toMatch(/^X{8}\d{4}$/);
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(seen).toEqual([1, 2, 3, 4, 5]);

    // A record that the face pipeline finished moves the batch forward.
    await env.container.pool.query(
      `UPDATE kyc_records SET state = 'face_ready' WHERE batch_id = $1::uuid AND row_number IN (1, 2)`,
      [id],
    );
    // Batches are read through a cache the change feed invalidates: the change shows once its notification lands
    // (milliseconds; its 30 s backstop TTL is far past this poll's timeout, so a lost invalidation still fails).
    await expect
      .poll(async () => (await get(`/v1/batches/${id}`)).body, { timeout: 5_000 })
      .toMatchObject({ progress: 0.4, state: 'processing' });
    const ready = await get(`/v1/batches/${id}/records?state=face_ready`);
    expect((ready.body.items as { rowNumber: number }[]).map((r) => r.rowNumber)).toEqual([1, 2]);
    expect((await get(`/v1/batches/${id}/records?state=bogus`)).status).toBe(400);
    expect((await get(`/v1/batches/${id}/records?cursor=%%%`)).status).toBe(400);
    expect((await get('/v1/batches/not-a-uuid')).status).toBe(404);

    // Each list of records read is logged (route and batch, never the query), refused reads are not.
    const reads = await env.container.pool.query<{ action: string; route: string; entity_id: string; status: number }>(
      "SELECT action, route, entity_id, status FROM access_log WHERE action = 'records.list' AND entity_id = $1::text",
      [id],
    );
    expect(reads.rows).toHaveLength(4);
    for (const row of reads.rows) {
      expect(row).toMatchObject({ route: '/v1/batches/:id/records', status: 200 });
    }
  });

  it('refuses a read of personal data that cannot be logged', async () => {
    const failing = Object.create(env.container.accessLog) as typeof env.container.accessLog;
    failing.record = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const app = await buildApp({
      container: { ...env.container, accessLog: failing },
      logger: createLogger({ logLevel: 'silent' }),
    });
    try {
      const upload = await env.container.pool.query<{ id: string }>('SELECT id FROM batches LIMIT 1');
      const answer = await app.inject({
        method: 'GET',
        url: `/v1/batches/${upload.rows[0]!.id}/records`,
        headers: { authorization: `Bearer ${operatorKey}` },
      });
      expect(answer.statusCode).toBeGreaterThanOrEqual(500);
      expect(answer.body).not.toContain('+91');
    } finally {
      await app.close();
    }
  });
});

describe('service endpoints', () => {
  it('serves health, readiness, metrics and OpenAPI docs', async () => {
    expect(await (await fetch(`${env.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${env.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
    const metrics = await (await fetch(`${env.url}/metrics`)).text();
    expect(metrics).toMatch(/simsift_http_requests_total\{method="POST",route="\/v1\/batches",status="202"\} \d+/);
    expect(metrics).toMatch(/simsift_queue_jobs\{queue="faces",state="waiting"\} \d+/);
    const docs = (await (await fetch(`${env.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths)).toEqual(
      expect.arrayContaining(['/v1/batches', '/v1/batches/{id}', '/v1/batches/{id}/records']),
    );
    const unknown = await fetch(`${env.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
  });
});

const batchCount = () => env.count('batches');

async function listPhotoFiles(): Promise<string[]> {
  const files = await readdir(path.join(env.config.dataDir, 'photos'), { recursive: true }).catch(() => []);
  return files.map((f) => path.basename(String(f))).filter((f) => /\.(jpg|png|webp)$/.test(f));
}

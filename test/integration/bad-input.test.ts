/**
 * A corpus of hostile and broken uploads, generated here (nothing binary is committed). Each one must end in a
 * documented code (docs/error-codes.md) and leave the server healthy.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, MANIFEST_HEADER, sampleRow, type SampleRow } from '../../src/demo/sample-batch.js';
import { photoStoreFiles, pngDeclaring, tinyJpeg } from '../helpers/photos.js';
import type { UploadLimits } from '../../src/config.js';
import { streamingUpload } from '../helpers/streaming-upload.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { declareUncompressedSize, renameEntry, zipOf } from '../helpers/zip.js';

interface Answer {
  status: number;
  body: {
    code?: string;
    accepted?: number;
    rejected?: number;
    batch_id?: string;
    errors?: { row: number; field: string; code: string }[];
    warnings?: { code: string; photo: string }[];
  };
}

let env: TestEnv;
let key: string;
let seed = 1;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  await env?.close();
});

// Whatever the input did, the process still answers.
afterEach(async () => {
  const health = await fetch(`${env.url}/healthz`);
  expect(health.status).toBe(200);
});

async function postMultipart(manifest: string | Buffer | null, photos: Record<string, Buffer> = {}): Promise<Answer> {
  const form = new FormData();
  if (manifest !== null) form.append('manifest', new Blob([new Uint8Array(Buffer.from(manifest))]), 'manifest.csv');
  for (const [name, bytes] of Object.entries(photos)) form.append(name, new Blob([new Uint8Array(bytes)]), name);
  const response = await fetch(`${env.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** An upload to a server with these upload limits is refused 413 `upload_too_large`, and no photo is stored. */
async function expectTooLargeAndNothingStored(
  upload: Partial<UploadLimits>,
  send: (url: string, key: string) => Promise<Response>,
): Promise<void> {
  const limited = await createTestEnv({ upload });
  try {
    const response = await send(limited.url, await limited.key('operator', 'JIO'));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'upload_too_large' });
    expect(await photoStoreFiles(limited.config.dataDir)).toEqual([]);
  } finally {
    await limited.close();
  }
}

async function postZip(zip: Buffer): Promise<Answer> {
  const response = await fetch(`${env.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/zip' },
    body: new Uint8Array(zip),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

function rows(count: number, photo = (n: number) => `p${n}.jpg`): SampleRow[] {
  return Array.from({ length: count }, () => {
    const n = seed++;
    return sampleRow(n, photo(n));
  });
}

async function photosFor(list: readonly SampleRow[]): Promise<Record<string, Buffer>> {
  const photos: Record<string, Buffer> = {};
  for (const [i, row] of list.entries()) photos[row.photo] = await tinyJpeg(seed * 31 + i);
  return photos;
}

const codes = (answer: Answer) => (answer.body.errors ?? []).map((e) => [e.row, e.field, e.code]);

describe('bad manifests', () => {
  it('accepts a UTF-8 byte order mark', async () => {
    const list = rows(2);
    const answer = await postMultipart('\uFEFF' + manifestCsv(list), await photosFor(list));
    expect(answer).toMatchObject({ status: 202, body: { accepted: 2, rejected: 0 } });
  });

  it('names the delimiter of a ";"- or tab-separated manifest: manifest_wrong_delimiter', async () => {
    const list = rows(1).map((row) => ({ ...row, address: 'Main Road' }));
    for (const separator of [';', '\t']) {
      const csv = manifestCsv(list)
        .split('\n')
        .map((line) => line.split(',').join(separator))
        .join('\n');
      const answer = await postMultipart(csv, await photosFor(list));
      expect(answer).toMatchObject({ status: 400, body: { code: 'manifest_wrong_delimiter' } });
    }
  });

  it('keeps a quoted line break in an address, and rejects one in a name', async () => {
    const [good, bad] = rows(2);
    good!.address = '12 MG Road\nNew Delhi';
    bad!.name = 'Asha\nVerma';
    const answer = await postMultipart(manifestCsv([good!, bad!]), await photosFor([good!, bad!]));
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([[2, 'name', 'invalid_characters']]);
    const stored = await env.container.pool.query<{ address: string }>(
      'SELECT address FROM kyc_records WHERE batch_id = $1::uuid',
      [answer.body.batch_id],
    );
    expect(stored.rows[0]!.address).toBe('12 MG Road New Delhi');
  });

  it('rejects a manifest without its header row: manifest_missing_columns', async () => {
    const list = rows(2);
    const headerless = manifestCsv(list).split('\n').slice(1).join('\n');
    expect(await postMultipart(headerless, await photosFor(list))).toMatchObject({
      status: 400,
      body: { code: 'manifest_missing_columns' },
    });
  });

  it('rejects unknown and duplicate columns, and reports a row with an extra field', async () => {
    const list = rows(2);
    const csv = manifestCsv(list);
    const [header, ...lines] = csv.split('\n');
    expect(await postMultipart([`${header},notes`, ...lines.map((l) => (l ? `${l},x` : l))].join('\n'))).toMatchObject({
      status: 400,
      body: { code: 'manifest_unknown_columns' },
    });
    expect(await postMultipart([`${header},name`, ...lines.map((l) => (l ? `${l},x` : l))].join('\n'))).toMatchObject({
      status: 400,
      body: { code: 'manifest_duplicate_columns' },
    });
    const extraField = [header, `${lines[0]},surplus`, lines[1]].join('\n') + '\n';
    const answer = await postMultipart(extraField, await photosFor(list));
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([[1, '*', 'wrong_column_count']]);
  });

  it('refuses 100,000 rows (over the default limit of 50,000) quickly: too_many_rows', async () => {
    const line = MANIFEST_HEADER.map((column) => sampleRow(1, 'a.jpg')[column]).join(',');
    const csv = [MANIFEST_HEADER.join(','), ...Array.from({ length: 100_000 }, () => line)].join('\n');
    const started = Date.now();
    const answer = await postMultipart(csv);
    expect(answer).toMatchObject({ status: 413, body: { code: 'too_many_rows' } });
    // Generous: CI machines are shared. The parser stops one row past the limit.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rejects invalid UTF-8 and broken quoting: manifest_not_csv', async () => {
    const list = rows(1);
    const latin1 = Buffer.concat([Buffer.from(manifestCsv(list)), Buffer.from([0xc3, 0x28, 0xff, 0x0a])]);
    expect(await postMultipart(latin1)).toMatchObject({ status: 400, body: { code: 'manifest_not_csv' } });
    const unterminated = `${MANIFEST_HEADER.join(',')}\n"9876543210,Asha\n`;
    expect(await postMultipart(unterminated)).toMatchObject({ status: 400, body: { code: 'manifest_not_csv' } });
  });

  it('stores names holding SQL or HTML verbatim, as data: parameterised SQL and text rendering defuse them', async () => {
    const [sql, html] = rows(2);
    sql!.name = "Robert'); DROP TABLE kyc_records;--";
    html!.father_name = '<script>alert(1)</script>';
    html!.address = '<b>12</b> MG Road';
    const answer = await postMultipart(manifestCsv([sql!, html!]), await photosFor([sql!, html!]));
    expect(answer).toMatchObject({ status: 202, body: { accepted: 2, rejected: 0 } });
    const stored = await env.container.pool.query<{ name: string; father_name: string; address: string }>(
      'SELECT name, father_name, address FROM kyc_records WHERE batch_id = $1::uuid ORDER BY row_number',
      [answer.body.batch_id],
    );
    expect(stored.rows.map((r) => [r.name, r.father_name, r.address])).toEqual([
      [sql!.name, sql!.father_name, sql!.address],
      [html!.name, html!.father_name, '<b>12</b> MG Road'],
    ]);
    // The table the "injection" names is still there and still holds every record.
    expect((await env.container.pool.query('SELECT 1 FROM kyc_records')).rowCount).toBeGreaterThan(2);
  });
});

describe('bad zips', () => {
  async function zipWithPhoto(photoName: string, extra: { mode?: number } = {}) {
    const list = rows(1, () => photoName);
    return zipOf([
      { name: 'manifest.csv', content: manifestCsv(list) },
      { name: photoName, content: await tinyJpeg(seed), ...extra },
    ]);
  }

  it('refuses entries with "../" or absolute paths, and symbolic links: zip_unsafe_entry', async () => {
    const climbing = renameEntry(await zipWithPhoto('xx/evil.jpg'), 'xx/evil.jpg', '../evil.jpg');
    expect(await postZip(climbing)).toMatchObject({ status: 400, body: { code: 'zip_unsafe_entry' } });
    const absolute = renameEntry(await zipWithPhoto('_etc/evil.jpg'), '_etc/evil.jpg', '/etc/evil.jpg');
    expect(await postZip(absolute)).toMatchObject({ status: 400, body: { code: 'zip_unsafe_entry' } });
    const list = rows(1, () => 'link.jpg');
    const symlink = await zipOf([
      { name: 'manifest.csv', content: manifestCsv(list) },
      { name: 'link.jpg', content: '/etc/passwd', mode: 0o120777 },
    ]);
    expect(await postZip(symlink)).toMatchObject({ status: 400, body: { code: 'zip_unsafe_entry' } });
  });

  it('judges an honest zip bomb by its declared sizes, without inflating it', async () => {
    const [row] = rows(1, () => 'bomb.jpg');
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const photoBomb = await zipOf([
      { name: 'manifest.csv', content: manifestCsv([row!]) },
      { name: 'bomb.jpg', content: zeros },
    ]);
    expect(photoBomb.length).toBeLessThan(1024 * 1024);
    const answer = await postZip(photoBomb);
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([[1, 'photo', 'photo_too_large']]);
    const manifestBomb = await zipOf([{ name: 'manifest.csv', content: Buffer.alloc(80 * 1024 * 1024, 'a') }]);
    expect(await postZip(manifestBomb)).toMatchObject({ status: 413, body: { code: 'manifest_too_large' } });
  });

  it('stores no photo a row does not name, and refuses a zip that inflates past the upload limit', async () => {
    const [row] = rows(1, () => 'kyc/face.jpg');
    const before = (await photoStoreFiles(env.config.dataDir)).length;
    // 259 KB of zip once wrote 203 MB of photos nothing referred to.
    // Each a real JPEG with 4 MB of zeros after it: a valid photo to the store, a few KB in the zip.
    const jpeg = await tinyJpeg(seed++);
    const padding = Array.from({ length: 20 }, (_, i) => ({
      name: `pad/${i}.jpg`,
      content: Buffer.concat([jpeg, Buffer.from([i]), Buffer.alloc(4 * 1024 * 1024)]),
    }));
    const padded = await zipOf([
      { name: 'manifest.csv', content: manifestCsv([row!]) },
      { name: 'kyc/face.jpg', content: await tinyJpeg(seed++) },
      ...padding,
    ]);
    expect(padded.length).toBeLessThan(1024 * 1024);
    const answer = await postZip(padded);
    expect(answer.status).toBe(202);
    expect((answer.body.warnings as { code: string }[]).filter((w) => w.code === 'photo_unreferenced')).toHaveLength(
      20,
    );
    expect((await photoStoreFiles(env.config.dataDir)).length - before).toBe(1);

    await expectTooLargeAndNothingStored({ maxUploadBytes: 8 * 1024 * 1024 }, (url, limitedKey) =>
      fetch(`${url}/v1/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${limitedKey}`, 'content-type': 'application/zip' },
        body: new Uint8Array(padded),
      }),
    );
  });

  it('holds the upload limit while a chunked multipart photo streams, storing nothing past it', async () => {
    const [row] = rows(1, () => 'big.jpg');
    // A valid JPEG 6 MB long, sent without a Content-Length: only the stream can tell it is over the limit.
    const big = Buffer.concat([await tinyJpeg(seed++), Buffer.alloc(6 * 1024 * 1024)]);
    await expectTooLargeAndNothingStored(
      { maxUploadBytes: 1024 * 1024, maxPhotoBytes: 16 * 1024 * 1024 },
      (url, limitedKey) => {
        const upload = streamingUpload(
          `${url}/v1/batches`,
          { authorization: `Bearer ${limitedKey}` },
          manifestCsv([row!]),
          { 'big.jpg': big },
        );
        upload.finish();
        return upload.response;
      },
    );
  });

  it('stops a zip bomb that lies about its size: invalid_zip', async () => {
    const [row] = rows(1, () => 'liar.jpg');
    const zip = await zipOf([
      { name: 'manifest.csv', content: manifestCsv([row!]) },
      { name: 'liar.jpg', content: Buffer.alloc(64 * 1024 * 1024) },
    ]);
    const answer = await postZip(declareUncompressedSize(zip, 'liar.jpg', 1_000));
    expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_zip' } });
  });

  it('does not open nested zips: a zip photo is unsupported_image_type, a nested manifest is not found', async () => {
    const [row] = rows(1, () => 'inner.zip');
    const inner = await zipOf([{ name: 'manifest.csv', content: manifestCsv([row!]) }]);
    const answer = await postZip(
      await zipOf([
        { name: 'manifest.csv', content: manifestCsv([row!]) },
        { name: 'inner.zip', content: inner },
      ]),
    );
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([[1, 'photo', 'unsupported_image_type']]);
    expect(await postZip(await zipOf([{ name: 'batch.zip', content: inner }]))).toMatchObject({
      status: 400,
      body: { code: 'manifest_missing' },
    });
  });

  it('refuses to guess between two entries of one name: photo_ambiguous', async () => {
    const [row] = rows(1, () => 'same.jpg');
    const answer = await postZip(
      await zipOf([
        { name: 'manifest.csv', content: manifestCsv([row!]) },
        { name: 'same.jpg', content: await tinyJpeg(seed++) },
        { name: 'same.jpg', content: await tinyJpeg(seed++) },
      ]),
    );
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([[1, 'photo', 'photo_ambiguous']]);
  });
});

describe('bad photos', () => {
  it('reports missing, empty, truncated, oversized-by-pixels and disguised photos row by row', async () => {
    const list = rows(6);
    const jpeg = await tinyJpeg(seed);
    const photos: Record<string, Buffer> = {
      // list[0]: named but not uploaded
      [list[1]!.photo]: Buffer.alloc(0),
      [list[2]!.photo]: jpeg.subarray(0, 20),
      [list[3]!.photo]: await pngDeclaring(50_000, 50_000),
      [list[4]!.photo]: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>'),
      [list[5]!.photo]: jpeg,
      'nobody.jpg': await tinyJpeg(seed + 1),
    };
    const answer = await postMultipart(manifestCsv(list), photos);
    expect(answer.status).toBe(202);
    expect(codes(answer)).toEqual([
      [1, 'photo', 'photo_missing'],
      [2, 'photo', 'photo_empty'],
      [3, 'photo', 'unreadable_image'],
      [4, 'photo', 'photo_too_many_pixels'],
      [5, 'photo', 'unsupported_image_type'],
    ]);
    expect(answer.body).toMatchObject({ accepted: 1, rejected: 5 });
    expect(answer.body.warnings).toEqual([
      expect.objectContaining({ code: 'photo_unreferenced', photo: 'nobody.jpg' }),
    ]);
  });

  it('leaves no temp files behind after all of the above', async () => {
    const tmp = await readdir(path.join(env.config.dataDir, 'tmp')).catch(() => []);
    expect(tmp).toEqual([]);
  });
});

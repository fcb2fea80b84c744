import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, sampleRow } from '../../../src/demo/sample-batch.js';
import { tinyJpeg } from '../../helpers/photos.js';
import { startPostgres, stopPostgres } from '../../helpers/services.js';
import { streamingUpload } from '../../helpers/streaming-upload.js';
import { createTestEnv, type TestEnv } from '../../helpers/test-env.js';

let env: TestEnv;
let key: string;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  // Whatever happened above, Postgres is running again before anything else uses it.
  await startPostgres();
  await env?.close();
});

const batchesWithKey = (idempotencyKey: string) =>
  env.count('batches WHERE idempotency_key = $1::text', [idempotencyKey]);

describe('Postgres stopped during an upload', () => {
  it('answers 503 service_unavailable, keeps no half batch, and the retry with the same key succeeds', async () => {
    const idempotencyKey = 'postgres-went-away';
    const rows = Array.from({ length: 8 }, (_, i) => sampleRow(i + 1, `p${i}.jpg`));
    const photos: Record<string, Buffer> = {};
    for (let i = 0; i < rows.length; i++) photos[`p${i}.jpg`] = await tinyJpeg(i + 1);
    const headers = { authorization: `Bearer ${key}`, 'idempotency-key': idempotencyKey };

    // Authentication and the idempotency lookup happen while Postgres is up; the batch is written at the end.
    const upload = streamingUpload(`${env.url}/v1/batches`, headers, manifestCsv(rows), photos);
    upload.send(4);
    let answer: Response;
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await stopPostgres();
      upload.finish();
      answer = await upload.response;
    } finally {
      await startPostgres();
    }
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toMatch(/problem\+json/);
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(await answer.json()).toMatchObject({ code: 'service_unavailable' });
    expect(await batchesWithKey(idempotencyKey)).toBe(0);
    const records = await env.container.pool.query('SELECT 1 FROM kyc_records');
    expect(records.rowCount).toBe(0);

    const form = new FormData();
    form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
    for (const [name, bytes] of Object.entries(photos)) form.append(name, new Blob([new Uint8Array(bytes)]), name);
    const retry = await fetch(`${env.url}/v1/batches`, { method: 'POST', headers, body: form });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await retry.json()).toMatchObject({ accepted: 8, rejected: 0 });
    expect(await batchesWithKey(idempotencyKey)).toBe(1);
    expect((await env.container.pool.query('SELECT 1 FROM kyc_records')).rowCount).toBe(8);
  });
});

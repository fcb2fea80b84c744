import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyJpeg } from '../helpers/photos.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';

let env: TestEnv;
let key: string;

beforeAll(async () => {
  // No face workers run here, so every accepted record stays waiting in the queue.
  env = await createTestEnv({ maxQueuedRecords: 2 });
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  await env?.close();
});

describe('backpressure on POST /v1/batches', () => {
  it('answers 429 queue_full with Retry-After once more face jobs wait than SIMSIFT_MAX_QUEUED_RECORDS', async () => {
    const first = await uploadPhotos(env.url, key, [await tinyJpeg(1), await tinyJpeg(2), await tinyJpeg(3)], 1);
    expect(first.accepted).toBe(3);
    expect((await env.container.facesQueue.counts()).waiting).toBe(3);

    const form = new FormData();
    form.append('manifest', new Blob([manifestCsv([sampleRow(10, 'a.jpg')])]), 'manifest.csv');
    form.append('a.jpg', new Blob([new Uint8Array(await tinyJpeg(10))]), 'a.jpg');
    const refused = await fetch(`${env.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'after-the-queue-drains' },
      body: form,
    });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ code: 'queue_full', details: { waiting: 3, limit: 2 } });
    const batches = await env.container.pool.query('SELECT 1 FROM batches');
    expect(batches.rowCount).toBe(1);

    // Reads are not throttled, and a replay of an accepted upload still answers.
    expect(
      (await fetch(`${env.url}/v1/batches/${first.batch_id}`, { headers: { authorization: `Bearer ${key}` } })).status,
    ).toBe(200);
  });
});

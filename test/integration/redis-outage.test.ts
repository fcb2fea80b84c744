import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { embedRecordJobId } from '../../src/jobs/job-registry.js';
import { buildApp } from '../../src/app.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { tinyJpeg } from '../helpers/photos.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

// A port nothing listens on: the API behaves as when Redis is down.
const DEAD_REDIS = 'redis://127.0.0.1:1';

let env: TestEnv;
let key: string;

beforeAll(async () => {
  env = await createTestEnv({ redisUrl: DEAD_REDIS });
  key = await env.key('operator', 'BSNL');
});

afterAll(async () => {
  await env?.close();
});

describe('Redis down during an upload', () => {
  it('keeps the accepted records waiting, reports not ready, and the reconciler queues them once Redis is back', async () => {
    const rows = [sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg')];
    const form = new FormData();
    form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
    form.append('a.jpg', new Blob([await tinyJpeg(1)]), 'a.jpg');
    form.append('b.jpg', new Blob([await tinyJpeg(2)]), 'b.jpg');
    const started = Date.now();
    const response = await fetch(`${env.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { batch_id: string; accepted: number };
    expect(body.accepted).toBe(2);
    // The upload does not hang on the dead Redis beyond the enqueue timeout.
    expect(Date.now() - started).toBeLessThan(15_000);

    const states = await env.container.pool.query<{ state: string }>(
      'SELECT state FROM kyc_records WHERE batch_id = $1::uuid',
      [body.batch_id],
    );
    expect(states.rows.map((r) => r.state)).toEqual(['waiting', 'waiting']);

    const ready = await fetch(`${env.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ checks: { postgres: 'ok', redis: 'unreachable' } });

    // Redis "comes back": the same database seen through a container whose Redis is up.
    const healthy = createContainer(
      { ...env.config, redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' },
      createLogger({ logLevel: 'silent' }),
    );
    try {
      expect(await healthy.ingest.reconcile()).toBe(2);
      const after = await env.container.pool.query<{ id: number; state: string; queueStamp: number }>(
        'SELECT id, state, queue_stamp AS "queueStamp" FROM kyc_records WHERE batch_id = $1::uuid ORDER BY id',
        [body.batch_id],
      );
      expect(after.rows.map((r) => r.state)).toEqual(['queued', 'queued']);
      const jobIds = await healthy.facesQueue.jobIds();
      for (const record of after.rows) expect(jobIds).toContain(embedRecordJobId(record));
      // A second pass finds nothing left to do.
      expect(await healthy.ingest.reconcile()).toBe(0);
    } finally {
      await healthy.close();
    }
  });
});

describe('Postgres down', () => {
  it('answers 503 service_unavailable with Retry-After, not a 500', async () => {
    const deadDatabase = { ...env.config, databaseUrl: 'postgres://postgres@127.0.0.1:1/simsift' };
    const logger = createLogger({ logLevel: 'silent' });
    const container = createContainer(deadDatabase, logger);
    const app = await buildApp({ container, logger });
    try {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/batches',
        headers: { authorization: `Bearer ${key}` },
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json()).toMatchObject({ code: 'service_unavailable' });
    } finally {
      await app.close();
      await container.close();
    }
  });
});

describe('Redis down, bad API keys', () => {
  it('answers 401 without hanging and still limits failures in memory, per process', async () => {
    const get = (bearer: string) => fetch(`${env.url}/v1/batches`, { headers: { authorization: `Bearer ${bearer}` } });
    const started = Date.now();
    const answers: number[] = [];
    for (let i = 0; i < env.config.maxAuthFailuresPerMinute; i++) answers.push((await get(`ssk_wrong-${i}`)).status);
    expect(answers.every((status) => status === 401)).toBe(true);
    // The shared count gives up within its timeout (500 ms) for each failure; nothing waits on ioredis retries.
    expect(Date.now() - started).toBeLessThan(env.config.maxAuthFailuresPerMinute * 1_000);
    expect((await get('ssk_wrong-again')).status).toBe(429);
    // A valid key is never refused by the limiter.
    expect((await get(key)).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleValue, scrape } from '../helpers/metrics.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

// A port nothing listens on: the API behaves as when Redis is down.
const DEAD_REDIS = 'redis://127.0.0.1:1';

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env?.close();
});

describe('the API metrics', () => {
  it("keep Node's default metrics under their standard names, without the simsift_ prefix", async () => {
    const text = await scrape(`${env.url}/metrics`);
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sampleValue(text, 'nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m);
    expect(text).not.toMatch(/simsift_(process|nodejs)_/);
    // The service's own metrics keep theirs.
    expect(text).toMatch(/^# TYPE simsift_http_requests_total counter$/m);
  });

  it('report each queue as up, with its depth, while Redis answers', async () => {
    const text = await scrape(`${env.url}/metrics`);
    for (const queue of ['faces', 'cluster']) {
      expect(sampleValue(text, 'simsift_queue_up', { queue })).toBe(1);
      expect(sampleValue(text, 'simsift_queue_jobs', { queue, state: 'waiting' })).toBeGreaterThanOrEqual(0);
    }
  });

  it('count refused credentials by reason', async () => {
    const operator = await env.key('operator', 'BSNL');
    const failures = async (reason: string) =>
      sampleValue(await scrape(`${env.url}/metrics`), 'simsift_auth_failures_total', { reason }) ?? 0;
    const before = {
      invalid: await failures('invalid_api_key'),
      missing: await failures('unauthenticated'),
      forbidden: await failures('forbidden'),
    };

    const unknownKey = await fetch(`${env.url}/v1/batches`, { headers: { authorization: 'Bearer sk_not_a_key' } });
    expect(unknownKey.status).toBe(401);
    expect(await fetch(`${env.url}/v1/batches`).then((response) => response.status)).toBe(401);
    expect(await fetch(`${env.url}/v1/batches`).then((response) => response.status)).toBe(401);
    const wrongRole = await fetch(`${env.url}/v1/operators`, { headers: { authorization: `Bearer ${operator}` } });
    expect(wrongRole.status).toBe(403);
    // A valid key is no failure.
    const ok = await fetch(`${env.url}/v1/batches`, { headers: { authorization: `Bearer ${operator}` } });
    expect(ok.status).toBe(200);

    expect(await failures('invalid_api_key')).toBe(before.invalid + 1);
    expect(await failures('unauthenticated')).toBe(before.missing + 2);
    expect(await failures('forbidden')).toBe(before.forbidden + 1);
  });
});

describe('the API metrics with Redis down', () => {
  let down: TestEnv;

  beforeAll(async () => {
    down = await createTestEnv({ redisUrl: DEAD_REDIS });
  });

  afterAll(async () => {
    await down?.close();
  });

  it('leave the queue depth absent instead of a made-up number, and report the queues down', async () => {
    const text = await scrape(`${down.url}/metrics`);
    expect(sampleValue(text, 'simsift_queue_jobs')).toBeUndefined();
    expect(text).not.toMatch(/^simsift_queue_jobs\{.*\} -1$/m);
    expect(sampleValue(text, 'simsift_queue_up', { queue: 'faces' })).toBe(0);
    expect(sampleValue(text, 'simsift_queue_up', { queue: 'cluster' })).toBe(0);
    // The rest of the page is still there.
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });
});

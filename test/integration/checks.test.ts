import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { sampleRow } from '../../src/demo/sample-batch.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { startWorkers } from '../helpers/in-process-workers.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
const keys: Record<string, string> = {};
let workers: { close(): Promise<void> } | undefined;
const logger = createLogger({ logLevel: 'silent' });
const CHECKS_PER_MINUTE = 10;

interface CheckResult {
  decision: 'allow' | 'review' | 'refuse';
  reasons: string[];
  counts: { connections: number; identities: number; simCap: number };
  face: { state: string };
  stored: { batch_id: string } | null;
  /** Analyst keys only. */
  detail?: {
    matches: { clusterId: number; size: number; joins: boolean; flagged: boolean }[];
    clusterId: number | null;
    score: number;
    evidence: { identities: number; connections: number };
    seconds: number;
  };
}

/** A check for subscriber `n` of the sample rows with `photo`; fields can be overridden or removed. */
async function check(
  key: string,
  photo: Buffer | null,
  n: number,
  fields: Record<string, string | null> = {},
  query = '',
) {
  const row: Record<string, string | null> = { ...sampleRow(n, 'photo'), ...fields };
  const form = new FormData();
  for (const [name, value] of Object.entries(row)) {
    if (name !== 'photo' && value !== null) form.append(name, value);
  }
  if (photo) form.append('photo', new Blob([new Uint8Array(photo)]), 'photo.jpg');
  const response = await fetch(`${env.url}/v1/checks${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as CheckResult & { code?: string },
  };
}

const count = (table: string) => env.count(table);

beforeAll(async () => {
  env = await createTestEnv({
    checks: { timeoutMs: 60_000, preloadModels: false, perKeyPerMinute: CHECKS_PER_MINUTE },
  });
  Object.assign(keys, await env.keys(['JIO'], ['analyst']));
  keys.shop = (
    await env.container.auth.createKey({ role: 'checker', operatorCode: 'JIO', actor: 'test', actorKeyId: null })
  ).key;
  workers = await startWorkers(env.config, logger);
  // One person already holds two connections under two names (a flagged ring); another person holds one.
  await uploadPhotos(
    env.url,
    keys.jio!,
    [await portrait(1, 0, 0), await portrait(1, 0, 1), await portrait(3, 1, 0)],
    1,
  );
  await waitFor(
    async () => ((await count('block_candidates')) === 2 ? true : undefined),
    120_000,
    'the ring to be flagged',
  );
}, 180_000);

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

describe('POST /v1/checks', () => {
  it('answers an operator or a shop allow, review or refuse with counts, and an analyst also with the clusters', async () => {
    const records = await count('kyc_records');
    const audited = await count("audit_log WHERE action = 'check.run'");
    // The ring's face again, under a third name and document.
    const ringPhoto = await portrait(1, 0, 3);
    for (const key of [keys.jio!, keys.shop!]) {
      const ring = await check(key, ringPhoto, 50);
      expect(ring.status).toBe(200);
      expect(ring.body).toMatchObject({
        decision: 'review',
        face: { state: 'face_ready' },
        counts: { identities: 3, connections: 3 },
        stored: null,
      });
      expect(ring.body.reasons).toContain('MULTI_IDENTITY_FACE');
      // Nothing that names a cluster or a record: the ring may be another operator's.
      expect(ring.body.detail).toBeUndefined();
      expect(JSON.stringify(ring.body)).not.toMatch(/cluster|record_?id|msisdn/i);
    }
    const analysed = await check(keys.analyst!, ringPhoto, 50);
    expect(analysed.body.decision).toBe('review');
    expect(analysed.body.detail!.clusterId).not.toBeNull();
    expect(analysed.body.detail!.matches[0]).toMatchObject({
      clusterId: analysed.body.detail!.clusterId,
      joins: true,
      size: 2,
      flagged: true,
    });
    expect(analysed.body.detail!.evidence).toMatchObject({ identities: 3, connections: 3 });

    // Someone new: no cluster, nothing fires.
    const stranger = await check(keys.analyst!, await portrait(2, 2, 0), 51);
    expect(stranger.status).toBe(200);
    expect(stranger.body).toMatchObject({ decision: 'allow', reasons: [], detail: { clusterId: null, matches: [] } });
    // Warm, a check answers well within a second of worker time.
    expect(stranger.body.detail!.seconds).toBeLessThan(5);
    expect(await count('kyc_records')).toBe(records);

    // Every check is audited with its decision, and without the subscriber's details.
    expect(await count("audit_log WHERE action = 'check.run'")).toBe(audited + 4);
    const rows = await env.container.pool.query<{ details: unknown; actor: string }>(
      "SELECT details, actor FROM audit_log WHERE action = 'check.run' ORDER BY seq",
    );
    expect(rows.rows.map((row) => (row.details as { decision: string }).decision)).toEqual([
      'review',
      'review',
      'review',
      'allow',
    ]);
    const row = sampleRow(50, 'photo');
    for (const secret of [row.msisdn, row.name, row.id_number]) {
      expect(JSON.stringify(rows.rows)).not.toContain(secret);
    }
  }, 120_000);

  it('gives a shop key the checks and nothing else', async () => {
    for (const path of ['/v1/batches', '/v1/clusters', '/v1/exports']) {
      const response = await fetch(`${env.url}${path}`, { headers: { authorization: `Bearer ${keys.shop}` } });
      expect(response.status).toBe(403);
    }
  });

  it('limits each key to its checks a minute, whatever they ask', async () => {
    const limited = (
      await env.container.auth.createKey({ role: 'checker', operatorCode: 'JIO', actor: 'test', actorKeyId: null })
    ).key;
    for (let i = 0; i < CHECKS_PER_MINUTE; i++) expect((await check(limited, null, 70)).status).toBe(400);
    const refused = await check(limited, null, 70);
    expect(refused).toMatchObject({ status: 429, body: { code: 'too_many_checks' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other keys keep their own allowance.
    expect((await check(keys.analyst!, null, 70)).status).toBe(400);
  });

  it('flags a photo without a usable face and refuses bad requests with clear codes', async () => {
    const blank = await (
      await import('sharp')
    )
      .default({
        create: { width: 300, height: 400, channels: 3, background: '#808080' },
      })
      .jpeg()
      .toBuffer();
    const noFace = await check(keys.analyst!, blank, 60);
    expect(noFace.status).toBe(200);
    expect(noFace.body).toMatchObject({ decision: 'review', face: { state: 'no_face' }, reasons: ['NO_USABLE_FACE'] });

    expect(await check(keys.jio!, null, 61)).toMatchObject({ status: 400, body: { code: 'photo_missing' } });
    expect(await check(keys.jio!, Buffer.from('<html>not a photo</html>'), 61)).toMatchObject({
      status: 415,
      body: { code: 'unsupported_image_type' },
    });
    const photo = await portrait(2, 2, 0);
    expect(await check(keys.jio!, photo, 61, { msisdn: '12345' })).toMatchObject({
      status: 400,
      body: { code: 'invalid_record' },
    });
    expect(await check(keys.jio!, photo, 61, { colour: 'blue' })).toMatchObject({
      status: 400,
      body: { code: 'unknown_field' },
    });
    expect(await check(keys.analyst!, photo, 61, {}, '?store=true')).toMatchObject({
      status: 403,
      body: { code: 'store_needs_operator' },
    });
  }, 60_000);

  it('stores the checked record as a one-record batch when the operator asks', async () => {
    const stored = await check(keys.jio!, await portrait(2, 2, 0), 62, {}, '?store=true');
    expect(stored.status).toBe(200);
    expect(stored.body.stored?.batch_id).toMatch(/.+/);
    const batch = await fetch(`${env.url}/v1/batches/${stored.body.stored!.batch_id}`, {
      headers: { authorization: `Bearer ${keys.jio}` },
    });
    expect(await batch.json()).toMatchObject({ accepted: 1, rejected: 0 });
  }, 60_000);
});

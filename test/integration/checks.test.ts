import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClusterWorker } from '../../src/cluster-worker-runtime.js';
import { runFaceWorker } from '../../src/face-worker-runtime.js';
import { createLogger } from '../../src/logger.js';
import { sampleRow } from '../../src/cli/sample-batch.js';
import { portrait } from '../../src/cli/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
const keys: Record<string, string> = {};
const stoppers: (() => Promise<void>)[] = [];
const logger = createLogger({ logLevel: 'silent' });

interface CheckResult {
  face: { state: string };
  matches: { clusterId: number; size: number; joins: boolean; flagged: boolean }[];
  clusterId: number | null;
  reasons: string[];
  score: number;
  evidence: { identities: number; connections: number };
  seconds: number;
  stored: { batch_id: string } | null;
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
  return { status: response.status, body: (await response.json()) as CheckResult & { code?: string } };
}

async function count(table: string): Promise<number> {
  return (await env.container.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
}

beforeAll(async () => {
  env = await createTestEnv({ checks: { timeoutMs: 60_000, preloadModels: false } });
  keys.jio = await env.key('operator', 'JIO');
  keys.analyst = await env.key('analyst');
  const faces = await runFaceWorker(env.config, logger);
  stoppers.push(() => faces.close());
  const clusters = await runClusterWorker(env.config, logger);
  stoppers.push(() => clusters.close());
  // One person already holds two connections under two names (a flagged ring); another person holds one.
  await uploadPhotos(env.url, keys.jio, [await portrait(1, 0, 0), await portrait(1, 0, 1), await portrait(3, 1, 0)], 1);
  await waitFor(
    async () => ((await count('block_candidates')) === 2 ? true : undefined),
    120_000,
    'the ring to be flagged',
  );
}, 180_000);

afterAll(async () => {
  for (const stop of stoppers.reverse()) await stop();
  await env?.close();
});

describe('POST /v1/checks', () => {
  it('finds the cluster a new subscriber would join and the rules that would fire, storing nothing', async () => {
    const records = await count('kyc_records');
    // The ring's face again, under a third name and document.
    const ring = await check(keys.jio!, await portrait(1, 0, 3), 50);
    expect(ring.status).toBe(200);
    expect(ring.body.face.state).toBe('face_ready');
    expect(ring.body.clusterId).not.toBeNull();
    expect(ring.body.matches[0]).toMatchObject({ clusterId: ring.body.clusterId, joins: true, size: 2, flagged: true });
    expect(ring.body.reasons).toContain('MULTI_IDENTITY_FACE');
    expect(ring.body.evidence).toMatchObject({ identities: 3, connections: 3 });
    expect(ring.body.stored).toBeNull();

    // Someone new: no cluster, nothing fires.
    const stranger = await check(keys.jio!, await portrait(2, 2, 0), 51);
    expect(stranger.status).toBe(200);
    expect(stranger.body).toMatchObject({ clusterId: null, reasons: [], matches: [] });
    // Warm, a check answers well within a second of worker time.
    expect(stranger.body.seconds).toBeLessThan(5);
    expect(await count('kyc_records')).toBe(records);
  }, 120_000);

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
    expect(noFace.body).toMatchObject({ face: { state: 'no_face' }, reasons: ['NO_USABLE_FACE'] });

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

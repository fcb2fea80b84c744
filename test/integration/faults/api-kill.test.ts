import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, sampleRow } from '../../../src/demo/sample-batch.js';
import { ageFiles, photoStoreFiles, tinyJpeg } from '../../helpers/photos.js';
import { spawnServe, type ChildServer } from '../../helpers/services.js';
import { streamingUpload } from '../../helpers/streaming-upload.js';
import { createTestEnv, type TestEnv } from '../../helpers/test-env.js';
import { waitFor } from '../../helpers/upload.js';

let env: TestEnv;
let key: string;
let server: ChildServer | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  await server?.kill();
  await env?.close();
});

const count = (table: string) => env.count(table);

describe('the API process killed (kill -9) in the middle of a streaming upload', () => {
  it('leaves no batch and no record behind, and a new process serves normally', async () => {
    server = await spawnServe(env.childEnv());
    const rows = Array.from({ length: 20 }, (_, i) => sampleRow(i + 1, `p${i}.jpg`));
    const photos: Record<string, Buffer> = {};
    for (let i = 0; i < rows.length; i++) photos[`p${i}.jpg`] = await tinyJpeg(i + 1);
    const upload = streamingUpload(
      `${server.url}/v1/batches`,
      { authorization: `Bearer ${key}`, 'idempotency-key': 'killed-mid-upload' },
      manifestCsv(rows),
      photos,
    );
    // The manifest and half the photos: the server has parsed the manifest and stored photos when it dies.
    upload.send(11);
    const photosDir = path.join(env.config.dataDir, 'photos');
    await waitFor(
      async () => ((await readdir(photosDir, { recursive: true }).catch(() => [])).length > 0 ? true : undefined),
      30_000,
      'the first stored photo',
    );
    await server.kill();
    await expect(upload.response).rejects.toThrow();

    expect(await count('batches')).toBe(0);
    expect(await count('kyc_records')).toBe(0);
    expect(await count('audit_log WHERE action = $$batch.create$$')).toBe(0);
    // What the dead upload stored is referenced by nothing: once past the grace period, the sweep deletes it.
    const leftBehind = await photoStoreFiles(env.config.dataDir);
    expect(leftBehind.length).toBeGreaterThan(0);
    await ageFiles(leftBehind, env.config.orphanPhotoGraceMs + 60_000);
    const swept = await env.container.photoSweep.sweep();
    expect(swept.orphanPhotos + swept.scratchFiles).toBe(leftBehind.length);
    expect(await photoStoreFiles(env.config.dataDir)).toEqual([]);

    // A new process starts clean and the retry with the same key is accepted once, in full.
    server = await spawnServe(env.childEnv());
    const form = new FormData();
    form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
    for (const [name, bytes] of Object.entries(photos)) form.append(name, new Blob([new Uint8Array(bytes)]), name);
    const retry = await fetch(`${server.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'killed-mid-upload' },
      body: form,
    });
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({ accepted: 20, rejected: 0 });
    expect(await count('batches')).toBe(1);
    expect(await count('kyc_records')).toBe(20);
  });
});

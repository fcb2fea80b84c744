/**
 * Photos are stored while an upload streams, before its batch commits. The sweep deletes what uploads that
 * never committed left on disk (their photos and scratch files) once past the grace period, and nothing else.
 */
import { existsSync } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { BatchRepository } from '../../src/repositories/batch.repository.js';
import { PhotoSweepService } from '../../src/services/photo-sweep.service.js';
import { ageFiles, photoStoreFiles, tinyJpeg } from '../helpers/photos.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';

const GRACE_MS = 60 * 60_000;

let env: TestEnv;
let key: string;

beforeAll(async () => {
  env = await createTestEnv({ orphanPhotoGraceMs: GRACE_MS });
  key = await env.key('operator', 'JIO');
});

afterAll(async () => {
  await env?.close();
});

/** A sweep over this env's data dir whose clock the test moves. */
function sweepWithClock(now: () => number): PhotoSweepService {
  return new PhotoSweepService(
    { files: env.container.photos, photos: new BatchRepository(env.container.pool) },
    GRACE_MS,
    now,
  );
}

/** A refused upload: its photos come before a manifest that lacks required columns, so they are stored first. */
async function refusedUpload(photos: Buffer[]): Promise<number> {
  const form = new FormData();
  photos.forEach((bytes, i) => form.append(`p${i}.jpg`, new Blob([new Uint8Array(bytes)]), `p${i}.jpg`));
  const csv = manifestCsv(photos.map((_, i) => sampleRow(500 + i, `p${i}.jpg`)));
  const withoutName = csv
    .split('\n')
    .map((line) => line.split(',').slice(0, 1).join(','))
    .join('\n');
  form.append('manifest', new Blob([withoutName]), 'manifest.csv');
  const response = await fetch(`${env.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return response.status;
}

describe('orphan photo sweep', () => {
  it('deletes the photos and scratch files of uploads that never committed, past the grace period only', async () => {
    const accepted = [await tinyJpeg(1), await tinyJpeg(2)];
    expect((await uploadPhotos(env.url, key, accepted)).accepted).toBe(2);
    const kept = await photoStoreFiles(env.config.dataDir);
    expect(kept).toHaveLength(2);

    expect(await refusedUpload([await tinyJpeg(3), await tinyJpeg(4)])).toBe(400);
    const orphans = (await photoStoreFiles(env.config.dataDir)).filter((file) => !kept.includes(file));
    expect(orphans).toHaveLength(2);
    const scratch = path.join(env.config.dataDir, 'tmp', 'killed-upload.part');
    await writeFile(scratch, 'half a photo');

    // Within the grace period nothing goes: an upload may still be streaming towards its commit.
    expect(await env.container.photoSweep.sweep()).toEqual({ orphanPhotos: 0, scratchFiles: 0 });

    await ageFiles([...kept, ...orphans, scratch], GRACE_MS + 60_000);
    // An upload that meets an existing file marks it as in use, and the sweep passes over it.
    const reused = await env.container.photos.save(Readable.from([await tinyJpeg(4)]));
    expect(reused.ok).toBe(true);
    const reusedFile = orphans.find((file) => (reused.ok ? file.includes(reused.sha256.toString('hex')) : false));
    expect(reusedFile).toBeDefined();
    expect((await stat(reusedFile!)).mtimeMs).toBeGreaterThan(Date.now() - GRACE_MS);

    expect(await env.container.photoSweep.sweep()).toEqual({ orphanPhotos: 1, scratchFiles: 1 });
    expect(await photoStoreFiles(env.config.dataDir)).toEqual([...kept, reusedFile!].sort());

    // The accepted batch's photos still serve their records.
    const batches = (await (
      await fetch(`${env.url}/v1/batches`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { items: { accepted: number }[] };
    expect(batches.items.map((batch) => batch.accepted)).toEqual([2]);
  });

  it('reads only directories changed since its last cut-off; a touched orphan marks its directory changed', async () => {
    let now = Date.now();
    const sweep = sweepWithClock(() => now);
    const bytes = await tinyJpeg(60);
    const stored = await env.container.photos.save(Readable.from([bytes]));
    if (!stored.ok) throw new Error(stored.message);
    const file = env.container.photos.pathFor(stored.sha256, stored.mimeType);
    // Stored long ago by an upload that never committed, in a directory nothing has changed since.
    await ageFiles([file, path.dirname(file)], 3 * GRACE_MS);
    const dirsChangedRecently = async () => {
      const found: string[] = [];
      for await (const photo of env.container.photos.filesModifiedBefore(Infinity, now - GRACE_MS))
        found.push(photo.file);
      return found;
    };
    expect(await dirsChangedRecently()).not.toContain(file);

    // Just before a sweep, an upload of the same bytes (which never commits either) meets the file.
    await env.container.photos.save(Readable.from([bytes]));
    expect(await dirsChangedRecently()).toContain(file);
    await sweep.sweep();
    expect(existsSync(file)).toBe(true);
    // A grace period later the next sweep, which reads only changed directories, still finds it.
    now += GRACE_MS + 60_000;
    await sweep.sweep();
    expect(existsSync(file)).toBe(false);
    // Kept in the data dir, so an API that restarts reads only the directories changed since.
    expect(await env.container.photos.lastSweepCutoff()).toBe(now - GRACE_MS);
  });

  it('deletes what a sweep that died left moved aside, once it is old', async () => {
    let now = Date.now();
    const sweep = sweepWithClock(() => now);
    const stored = await env.container.photos.save(Readable.from([await tinyJpeg(80)]));
    if (!stored.ok) throw new Error(stored.message);
    const aside = `${env.container.photos.pathFor(stored.sha256, stored.mimeType)}.0000.sweep`;
    await rename(env.container.photos.pathFor(stored.sha256, stored.mimeType), aside);
    await sweep.sweep();
    expect(existsSync(aside)).toBe(true);
    now += GRACE_MS + 60_000;
    await sweep.sweep();
    expect(existsSync(aside)).toBe(false);
  });
});

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PhotoStoreRepository } from '../../src/repositories/photo-store.repository.js';
import { tinyJpeg } from '../helpers/photos.js';

const LIMITS = { maxPhotoBytes: 1024 * 1024, maxPhotoPixels: 10_000_000 };
let dir: string | null = null;

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = null;
});

describe('a purged photo', () => {
  it('keeps its file when an upload stored or met it after the purge, and loses it otherwise', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'simsift-retention-'));
    const store = new PhotoStoreRepository(dir, LIMITS);
    const before = Date.now() - 60_000;
    const saved = await store.save(Readable.from([await tinyJpeg(7)]));
    if (!saved.ok) throw new Error('not stored');
    const file = store.pathFor(saved.sha256, saved.mimeType);
    // Marked purged a minute ago, stored again since: an upload of the same bytes raced the purge.
    expect(await store.removeUnlessTouchedSince(saved.sha256, saved.mimeType, before)).toBe(false);
    expect(existsSync(file)).toBe(true);
    // Marked now, untouched since: the file goes.
    expect(await store.removeUnlessTouchedSince(saved.sha256, saved.mimeType, Date.now() + 1_000)).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(await store.removeUnlessTouchedSince(saved.sha256, saved.mimeType, Date.now() + 1_000)).toBe(false);
  });
});

describe('the orphan sweep cut-off', () => {
  it('is kept even when no photo was stored yet and the data dir does not exist', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'simsift-sweep-'));
    // A fresh data dir (the demo removes its own at start) before the first upload creates it.
    const store = new PhotoStoreRepository(path.join(dir, 'data'), LIMITS);
    expect(await store.lastSweepCutoff()).toBeNull();
    await store.saveSweepCutoff(1_234);
    expect(await store.lastSweepCutoff()).toBe(1_234);
  });
});

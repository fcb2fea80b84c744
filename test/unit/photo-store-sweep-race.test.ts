/**
 * The orphan sweep checks a file's time, then deletes it. An upload of the same bytes that touches the file in
 * between must keep it: fs is wrapped so that the touch lands exactly there.
 */
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PhotoStoreRepository } from '../../src/repositories/photo-store.repository.js';
import { tinyJpeg } from '../helpers/photos.js';

const between = vi.hoisted(() => ({ action: null as null | ((file: string) => Promise<void>) }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  // Runs the pending action once, before whichever call comes first to move or delete the photo.
  const first = async (file: unknown) => {
    const action = between.action;
    between.action = null;
    if (action) await action(String(file));
  };
  return {
    ...real,
    rename: async (from: string, to: string) => {
      await first(from);
      return real.rename(from, to);
    },
    rm: async (file: string, options?: Parameters<typeof real.rm>[1]) => {
      await first(file);
      return real.rm(file, options);
    },
  };
});

let dir: string | null = null;
afterEach(async () => {
  between.action = null;
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('PhotoStoreRepository.removeIfUnmodified', () => {
  it('keeps a file that an upload touched after the check and before the delete', async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'simsift-race-'));
    const store = new PhotoStoreRepository(dir, { maxPhotoBytes: 1_000_000, maxPhotoPixels: 1_000_000 });
    const bytes = await tinyJpeg(5);
    const stored = await store.save(Readable.from([bytes]));
    if (!stored.ok) throw new Error(stored.message);
    const file = store.pathFor(stored.sha256, stored.mimeType);
    const old = new Date(Date.now() - 86_400_000);
    await fs.utimes(file, old, old);
    const listed = { file, sha256: stored.sha256, modifiedAt: (await fs.stat(file)).mtimeMs };

    between.action = async (target) => {
      if (target !== file) return;
      const now = new Date();
      await fs.utimes(file, now, now);
    };
    expect(await store.removeIfUnmodified(listed)).toBe(false);
    expect(existsSync(file)).toBe(true);
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual([path.basename(file)]);
  });

  it('deletes an untouched file', async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'simsift-race-'));
    const store = new PhotoStoreRepository(dir, { maxPhotoBytes: 1_000_000, maxPhotoPixels: 1_000_000 });
    const stored = await store.save(Readable.from([await tinyJpeg(6)]));
    if (!stored.ok) throw new Error(stored.message);
    const file = store.pathFor(stored.sha256, stored.mimeType);
    const listed = { file, sha256: stored.sha256, modifiedAt: (await fs.stat(file)).mtimeMs };
    expect(await store.removeIfUnmodified(listed)).toBe(true);
    expect(await fs.readdir(path.dirname(file))).toEqual([]);
  });
});

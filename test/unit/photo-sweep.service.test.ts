import { describe, expect, it } from 'vitest';
import type { PhotoFile } from '../../src/repositories/photo-store.repository.js';
import { PhotoSweepService } from '../../src/services/photo-sweep.service.js';

const NOW = 1_800_000_000_000;
const GRACE = 3_600_000;

function sha(n: number): Buffer {
  const hash = Buffer.alloc(32);
  hash.writeUInt32BE(n);
  return hash;
}

describe('PhotoSweepService', () => {
  it('asks Postgres in chunks and removes only unknown photos and scratch files, as old as the grace period', async () => {
    const files: PhotoFile[] = [
      ...Array.from({ length: 2_500 }, (_, n) => ({ file: `p${n}`, sha256: sha(n), modifiedAt: NOW - GRACE - 1 })),
      { file: 'tmp/a.part', sha256: null, modifiedAt: NOW - GRACE - 1 },
    ];
    const asked: number[] = [];
    const removed: string[] = [];
    const walks: [number, number | null][] = [];
    let now = NOW;
    let savedCutoff: number | null = null;
    const sweep = new PhotoSweepService(
      {
        files: {
          async *filesModifiedBefore(cutoff, dirsChangedAfter) {
            walks.push([cutoff, dirsChangedAfter]);
            if (walks.length === 1) yield* files;
          },
          lastSweepCutoff: async () => savedCutoff,
          saveSweepCutoff: async (cutoff) => {
            savedCutoff = cutoff;
          },
          // One file was touched by an upload since it was listed.
          removeIfUnmodified: async (found) => {
            if (found.file === 'p1') return false;
            removed.push(found.file);
            return true;
          },
        },
        photos: {
          // Even photos belong to accepted batches.
          knownPhotos: async (hashes) => {
            asked.push(hashes.length);
            return new Set(hashes.filter((hash) => hash.readUInt32BE() % 2 === 0).map((hash) => hash.toString('hex')));
          },
        },
      },
      GRACE,
      () => now,
    );
    expect(await sweep.sweep()).toEqual({ orphanPhotos: 1_249, scratchFiles: 1 });
    // The first sweep reads every directory, the next only those changed since the first one's cut-off.
    now += 3_600_000;
    expect(await sweep.sweep()).toEqual({ orphanPhotos: 0, scratchFiles: 0 });
    expect(walks).toEqual([
      [NOW - GRACE, null],
      [now - GRACE, NOW - GRACE],
    ]);
    expect(asked).toEqual([1_000, 1_000, 500]);
    expect(removed).toContain('tmp/a.part');
    expect(removed.filter((file) => file !== 'tmp/a.part').every((file) => Number(file.slice(1)) % 2 === 1)).toBe(true);
  });
});

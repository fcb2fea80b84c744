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
    let before = 0;
    const sweep = new PhotoSweepService(
      {
        files: {
          async *filesModifiedBefore(cutoff) {
            before = cutoff;
            yield* files;
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
      () => NOW,
    );
    expect(await sweep.sweep()).toEqual({ orphanPhotos: 1_249, scratchFiles: 1 });
    expect(before).toBe(NOW - GRACE);
    expect(asked).toEqual([1_000, 1_000, 500]);
    expect(removed).toContain('tmp/a.part');
    expect(removed.filter((file) => file !== 'tmp/a.part').every((file) => Number(file.slice(1)) % 2 === 1)).toBe(true);
  });
});

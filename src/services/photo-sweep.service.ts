import type { PhotoFile } from '../repositories/photo-store.repository.js';

export interface PhotoSweepDeps {
  files: {
    filesModifiedBefore(before: number, dirsChangedAfter: number | null): AsyncIterable<PhotoFile>;
    removeIfUnmodified(found: PhotoFile): Promise<boolean>;
    lastSweepCutoff(): Promise<number | null>;
    saveSweepCutoff(cutoff: number): Promise<void>;
  };
  photos: { knownPhotos(hashes: readonly Buffer[]): Promise<Set<string>> };
}

export interface PhotoSweepResult {
  /** Photo files no accepted batch refers to. */
  orphanPhotos: number;
  /** Scratch files of uploads that never finished. */
  scratchFiles: number;
}

// Hashes checked against Postgres per query.
const CHUNK = 1_000;

/**
 * Deletes the personal data a failed upload leaves on disk. Photos are stored while an upload streams, before
 * its batch commits; when the upload is refused, Postgres fails, or the API dies mid-stream, the batch never
 * commits and its photos (and scratch files) stay behind, referenced by nothing. A photo file older than the
 * grace period whose hash is in no accepted batch is such an orphan. The grace period outlasts any upload
 * still streaming; an upload that meets an existing file touches it, so the sweep passes over it too.
 */
export class PhotoSweepService {
  constructor(
    private readonly deps: PhotoSweepDeps,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async sweep(): Promise<PhotoSweepResult> {
    const result: PhotoSweepResult = { orphanPhotos: 0, scratchFiles: 0 };
    let photos: PhotoFile[] = [];
    const removeOrphans = async () => {
      const known = await this.deps.photos.knownPhotos(photos.map((photo) => photo.sha256!));
      for (const photo of photos) {
        if (!known.has(photo.sha256!.toString('hex')) && (await this.deps.files.removeIfUnmodified(photo))) {
          result.orphanPhotos++;
        }
      }
      photos = [];
    };
    const cutoff = this.now() - this.graceMs;
    // A file becomes old enough at some sweep's cut-off, and its directory changed when the file arrived (or was
    // last touched), after the previous finished sweep's cut-off: only directories changed since then are read.
    // The first sweep in a data dir reads them all.
    const previous = await this.deps.files.lastSweepCutoff();
    for await (const found of this.deps.files.filesModifiedBefore(cutoff, previous)) {
      if (found.sha256 === null) {
        if (await this.deps.files.removeIfUnmodified(found)) result.scratchFiles++;
        continue;
      }
      photos.push(found);
      if (photos.length >= CHUNK) await removeOrphans();
    }
    if (photos.length > 0) await removeOrphans();
    await this.deps.files.saveSweepCutoff(cutoff);
    return result;
  }
}

import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import sharp from 'sharp';

import { isMissingFile } from '../file-exists.js';
import { FileStore, type PhotoMimeType } from './file-store.repository.js';

export type { PhotoMimeType };

export interface StoredPhoto {
  ok: true;
  sha256: Buffer;
  mimeType: PhotoMimeType;
  byteSize: number;
  width: number;
  height: number;
}

export type PhotoRejectionCode =
  'photo_empty' | 'photo_too_large' | 'photo_too_many_pixels' | 'unsupported_image_type' | 'unreadable_image';

export interface PhotoRejection {
  ok: false;
  code: PhotoRejectionCode;
  message: string;
}

export interface PhotoLimits {
  maxPhotoBytes: number;
  maxPhotoPixels: number;
}

/** Decides the type from the first bytes; file names and declared content types are not trusted. */
export function sniffImageType(head: Buffer): PhotoMimeType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return 'image/png';
  }
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return 'image/webp';
  }
  return null;
}

/**
 * Content-addressed photo storage under `<dataDir>/photos/ab/cd/<sha256>.<ext>`. Bytes are streamed to a temp
 * file while hashed, then renamed into place, so a crash never leaves a half-written photo under its final name
 * and the same bytes uploaded twice occupy one file.
 */
export class PhotoStoreRepository {
  private readonly files: FileStore;
  private readonly tmpDir: string;
  private readonly sweepFile: string;

  constructor(
    dataDir: string,
    private readonly limits: PhotoLimits,
  ) {
    this.files = new FileStore(dataDir);
    this.tmpDir = path.join(dataDir, 'tmp');
    this.sweepFile = path.join(dataDir, 'photo-sweep.json');
  }

  pathFor(sha256: Buffer, mimeType: PhotoMimeType): string {
    return this.files.photoPath(sha256, mimeType);
  }

  /** Deletes a photo's file (erasure); a missing file is not an error. */
  async remove(sha256: Buffer, mimeType: PhotoMimeType): Promise<void> {
    await rm(this.pathFor(sha256, mimeType), { force: true });
  }

  /**
   * Deletes a photo's file unless an upload met or stored it at `since` or later (retention: an upload of the same
   * bytes racing the purge keeps its file). Returns whether it was deleted.
   */
  async removeUnlessTouchedSince(sha256: Buffer, mimeType: PhotoMimeType, since: number): Promise<boolean> {
    const file = this.pathFor(sha256, mimeType);
    const modifiedAt = await modifiedTime(file);
    if (modifiedAt === null || modifiedAt >= since) return false;
    return this.removeIfUnmodified({ file, sha256, modifiedAt });
  }

  /** Deletes a file derived from a photo (a thumbnail) by its path relative to the data dir, never outside it. */
  async removeDerived(relative: string): Promise<void> {
    await rm(this.files.resolve(relative), { force: true });
  }

  /** The stored bytes of a photo. */
  read(sha256: Buffer, mimeType: PhotoMimeType): Promise<Buffer> {
    return readFile(this.pathFor(sha256, mimeType));
  }

  /**
   * Photo files and scratch files (parts being written, spooled zips) last modified before `before` (ms since
   * the epoch), for the orphan sweep. With `dirsChangedAfter`, only the photo directories changed since then are
   * read (a file added, removed or touched changes its directory's time; see `save`), so a sweep after the first
   * reads the directories that took new files, not every stored photo. A file removed meanwhile is skipped.
   */
  async *filesModifiedBefore(before: number, dirsChangedAfter: number | null = null): AsyncGenerator<PhotoFile> {
    for (const file of await filesIn(this.tmpDir)) {
      const modifiedAt = await modifiedTime(file);
      if (modifiedAt !== null && modifiedAt < before) yield { file, sha256: null, modifiedAt };
    }
    for (const first of await filesIn(this.files.photosDir)) {
      for (const second of await filesIn(first)) {
        if (dirsChangedAfter !== null && ((await modifiedTime(second)) ?? 0) < dirsChangedAfter) continue;
        for (const file of await filesIn(second)) {
          if (file.endsWith(ASIDE_SUFFIX)) {
            // Left by a sweep that died between moving a file aside and deleting it. The move set its ctime, so
            // an aside file of a sweep still running is not taken for one.
            const changed = await stat(file).catch(() => null);
            if (changed && changed.ctimeMs < before) yield { file, sha256: null, modifiedAt: changed.mtimeMs };
            continue;
          }
          const match = PHOTO_FILE.exec(path.basename(file));
          if (!match) continue;
          const modifiedAt = await modifiedTime(file);
          if (modifiedAt !== null && modifiedAt < before) {
            yield { file, sha256: Buffer.from(match[1]!, 'hex'), modifiedAt };
          }
        }
      }
    }
  }

  /**
   * Removes a file found by {@link filesModifiedBefore} unless it was modified since (an upload of the same bytes
   * touches it). Returns whether it was removed.
   */
  async removeIfUnmodified(found: PhotoFile): Promise<boolean> {
    if ((await modifiedTime(found.file)) !== found.modifiedAt) return false;
    // Moved aside first, then checked again: an upload that touched the file before the move is seen here and
    // the file goes back; one that comes after finds no file and puts its own copy in place (see `save`).
    const aside = `${found.file}.${randomUUID()}${ASIDE_SUFFIX}`;
    try {
      await rename(found.file, aside);
    } catch {
      return false;
    }
    if ((await modifiedTime(aside)) === found.modifiedAt) {
      await rm(aside, { force: true });
      return true;
    }
    // Touched: it goes back, unless an upload has put its own copy of the same bytes in place meanwhile.
    if ((await modifiedTime(found.file)) !== null) await rm(aside, { force: true });
    else await rename(aside, found.file);
    return false;
  }

  /**
   * The cut-off of the last orphan sweep that finished, by any process sharing this data dir, or null. Kept so
   * a restarted API does not read every stored photo again.
   */
  async lastSweepCutoff(): Promise<number | null> {
    try {
      const { cutoff } = JSON.parse(await readFile(this.sweepFile, 'utf8')) as { cutoff?: unknown };
      return typeof cutoff === 'number' && Number.isFinite(cutoff) ? cutoff : null;
    } catch {
      return null;
    }
  }

  /** Records a finished sweep's cut-off (written aside and renamed, so a reader never sees half a file). */
  async saveSweepCutoff(cutoff: number): Promise<void> {
    const partial = `${this.sweepFile}.${randomUUID()}.part`;
    // A sweep can finish before the first upload has created the data dir (a fresh install, the demo's start).
    await mkdir(path.dirname(this.sweepFile), { recursive: true });
    await writeFile(partial, JSON.stringify({ cutoff }));
    await rename(partial, this.sweepFile);
  }

  /** A scratch path for whole-upload spooling (zip bodies); the caller removes it. */
  async tempPath(suffix: string): Promise<string> {
    await mkdir(this.tmpDir, { recursive: true });
    return path.join(this.tmpDir, `${randomUUID()}${suffix}`);
  }

  /**
   * Stores one photo from a stream. Always consumes the whole stream (a multipart parser stalls otherwise),
   * but stops writing once the byte limit is passed.
   */
  async save(stream: Readable, declaredBytes?: number): Promise<StoredPhoto | PhotoRejection> {
    if (declaredBytes !== undefined && declaredBytes > this.limits.maxPhotoBytes) {
      stream.destroy();
      return tooLargeRejection(this.limits.maxPhotoBytes);
    }
    await mkdir(this.tmpDir, { recursive: true });
    const tmpFile = path.join(this.tmpDir, `${randomUUID()}.part`);
    const out = createWriteStream(tmpFile, { flags: 'wx' });
    const hash = createHash('sha256');
    let byteSize = 0;
    let head = Buffer.alloc(0);
    let tooLarge = false;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        byteSize += chunk.length;
        if (tooLarge) continue;
        if (byteSize > this.limits.maxPhotoBytes) {
          tooLarge = true;
          continue;
        }
        if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16)]);
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, 'drain');
      }
      out.end();
      await finished(out);
      if (byteSize === 0) return reject('photo_empty', 'the photo file is empty');
      if (tooLarge) return tooLargeRejection(this.limits.maxPhotoBytes);
      const mimeType = sniffImageType(head);
      if (!mimeType) return reject('unsupported_image_type', 'the photo is not a JPEG, PNG or WebP image');
      let width: number;
      let height: number;
      try {
        // Reads the header only: the declared size is checked before anything decodes the pixels.
        const meta = await sharp(tmpFile, { limitInputPixels: false }).metadata();
        width = meta.width ?? 0;
        height = meta.height ?? 0;
      } catch {
        return reject('unreadable_image', 'the photo header cannot be read');
      }
      if (width <= 0 || height <= 0) return reject('unreadable_image', 'the photo has no dimensions');
      if (width * height > this.limits.maxPhotoPixels) {
        return reject(
          'photo_too_many_pixels',
          `the photo is ${width}x${height} pixels, more than the limit of ${this.limits.maxPhotoPixels}`,
        );
      }
      const sha256 = hash.digest();
      const finalPath = this.pathFor(sha256, mimeType);
      await mkdir(path.dirname(finalPath), { recursive: true });
      // An existing file is marked as in use again, so the orphan sweep leaves it alone while this upload commits,
      // and its directory as changed, so the sweep reads it again should this upload never commit. Should the
      // sweep take the file away meanwhile, this upload's copy takes its place.
      if (!(await touch(finalPath))) await rename(tmpFile, finalPath);
      await touch(path.dirname(finalPath));
      return { ok: true, sha256, mimeType, byteSize, width, height };
    } finally {
      out.destroy();
      await rm(tmpFile, { force: true });
    }
  }
}

/** A stored photo's file; `sha256` is null for a scratch file (tmp/). */
export interface PhotoFile {
  file: string;
  sha256: Buffer | null;
  modifiedAt: number;
}

const PHOTO_FILE = /^([0-9a-f]{64})\.(jpg|png|webp)$/;
// A file the sweep moved aside to delete it.
const ASIDE_SUFFIX = '.sweep';

function tooLargeRejection(limit: number): PhotoRejection {
  return reject('photo_too_large', `the photo is larger than ${limit} bytes`);
}

function reject(code: PhotoRejectionCode, message: string): PhotoRejection {
  return { ok: false, code, message };
}

/** Paths of a directory's entries, or none when it does not exist. */
async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).map((name) => path.join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return [];
    }
    throw error;
  }
}

/** Sets a file's times to now; false when it does not exist. */
async function touch(file: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(file, now, now);
    return true;
  } catch (error) {
    if (isMissingFile(error)) return false;
    throw error;
  }
}

/** mtime in ms, or null when the file is gone. */
async function modifiedTime(file: string): Promise<number | null> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return null;
  }
}

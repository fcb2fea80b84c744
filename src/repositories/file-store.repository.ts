import type { ReadStream } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isMissingFile } from '../file-exists.js';

/** The stored photo types and the extension each is kept under. */
export type PhotoMimeType = 'image/jpeg' | 'image/png' | 'image/webp';
const EXTENSION: Record<PhotoMimeType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };

/**
 * The one owner of the data directory's layout: content-addressed photos (`photos/ab/cd/<sha256>.<ext>`),
 * thumbnails and exports, whose paths relative to the data dir are what Postgres stores. Routes and services ask
 * it for a file's bytes instead of joining paths, so no caller can name a file outside the data dir.
 */
export class FileStore {
  readonly root: string;
  /** Where the content-addressed photos live (the photo sweep walks it). */
  readonly photosDir: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
    this.photosDir = path.join(this.root, 'photos');
  }

  /** Absolute path of a stored photo, by its content hash and type. */
  photoPath(sha256: Buffer, mimeType: PhotoMimeType): string {
    const hex = sha256.toString('hex');
    return path.join(this.photosDir, hex.slice(0, 2), hex.slice(2, 4), `${hex}.${EXTENSION[mimeType]}`);
  }

  /** Where an export's file goes, relative to the data dir (as the exports table stores it). */
  exportFile(exportId: number, format: 'csv' | 'json'): string {
    return `exports/${exportId}.${format}`;
  }

  /** Absolute path of a file stored under `relative`; refuses any path that would leave the data dir. */
  resolve(relative: string): string {
    const file = path.resolve(this.root, relative);
    if (!file.startsWith(this.root + path.sep)) throw new Error(`not under the data dir: ${relative}`);
    return file;
  }

  /** A stream of a stored file's bytes, or null when the file is gone (erased, purged, never written). */
  async openForReading(file: string): Promise<ReadStream | null> {
    // Opening first turns a missing file into null here, not into an error half-way through a response.
    const handle = await open(file, 'r').catch((error: unknown) => {
      if (isMissingFile(error)) return null;
      throw error;
    });
    // The handle's own stream closes the handle when it ends or is destroyed (a client gone mid-download).
    return handle ? handle.createReadStream() : null;
  }

  /** Writes `bytes` to `relative` through a temp file and a rename, so a reader never sees half a file. */
  async writeAtomically(relative: string, bytes: Buffer | string): Promise<void> {
    const target = this.resolve(relative);
    await mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.${randomUUID()}.part`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
  }
}

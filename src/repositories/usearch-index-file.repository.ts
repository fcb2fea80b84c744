import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IndexWatermark, SavedIndexStore } from '../services/clustering/cluster.service.js';
import type { NeighbourIndex } from '../services/clustering/face-clusterer.js';
import { UsearchIndex, type UsearchIndexShape } from './usearch-index.repository.js';

/**
 * 2: indexes are built by inserting one face at a time. A format-1 file may hold faces that concurrent inserts
 * left unreachable (see UsearchIndex.addMany), so it is rebuilt rather than loaded.
 */
const INDEX_FILE_FORMAT = 2;

/** The sidecar `<file>.json`: what the index file holds and how to tell it is whole. */
interface IndexFileMeta {
  format: number;
  shape: UsearchIndexShape;
  watermark: IndexWatermark;
  bytes: number;
  sha256: string;
}

/**
 * A saved usearch index (`<dataDir>/index/<embedder>.usearch`) so a cluster worker's start loads the graph
 * instead of inserting every face again (272 s at 1M faces, against 4 s to load). Only a cache: a missing,
 * corrupt or differently configured file is reported unusable and the caller rebuilds from Postgres. A checksum
 * is verified before usearch reads the file, as usearch trusts what it loads.
 */
export class UsearchIndexFile implements SavedIndexStore {
  private readonly metaFile: string;

  constructor(
    private readonly file: string,
    /** A fresh, empty index configured as the worker's (the file must have the same shape). */
    private readonly createIndex: () => UsearchIndex,
  ) {
    this.metaFile = `${file}.json`;
  }

  async load(): Promise<{ index: UsearchIndex; watermark: IndexWatermark } | { unusable: string }> {
    let meta: IndexFileMeta;
    try {
      meta = JSON.parse(await readFile(this.metaFile, 'utf8')) as IndexFileMeta;
    } catch (error) {
      return { unusable: isMissing(error) ? 'no saved index' : `unreadable ${this.metaFile}` };
    }
    const index = this.createIndex();
    if (meta.format !== INDEX_FILE_FORMAT) return { unusable: `saved index is of format ${meta.format}` };
    if (JSON.stringify(meta.shape) !== JSON.stringify(index.shape)) {
      return { unusable: 'saved index has other settings' };
    }
    try {
      if ((await stat(this.file)).size !== meta.bytes || (await sha256(this.file)) !== meta.sha256) {
        return { unusable: 'saved index does not match its checksum' };
      }
      index.load(this.file);
    } catch (error) {
      return { unusable: `saved index unreadable: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (index.size !== meta.watermark.faces) return { unusable: 'saved index holds another number of faces' };
    return { index, watermark: meta.watermark };
  }

  /**
   * Writes the index and its watermark; returns the file's size. The file is written aside and renamed, then
   * the sidecar: a crash in between leaves a checksum that no longer matches, never a half-written index.
   */
  async save(index: NeighbourIndex, watermark: IndexWatermark): Promise<number> {
    if (!(index instanceof UsearchIndex)) throw new Error('only a usearch index can be saved');
    await mkdir(path.dirname(this.file), { recursive: true });
    // Per process: a recluster run and the worker may save at once; the checksum then tells whose file won.
    const partial = `${this.file}.${process.pid}.partial`;
    try {
      index.save(partial);
      const bytes = (await stat(partial)).size;
      const meta: IndexFileMeta = {
        format: INDEX_FILE_FORMAT,
        shape: index.shape,
        watermark,
        bytes,
        sha256: await sha256(partial),
      };
      await rename(partial, this.file);
      await writeFile(`${this.metaFile}.${process.pid}.partial`, JSON.stringify(meta));
      await rename(`${this.metaFile}.${process.pid}.partial`, this.metaFile);
      return bytes;
    } finally {
      await rm(partial, { force: true });
    }
  }
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 4 << 20 }), hash);
  return hash.digest('hex');
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import type {
  IndexWatermark,
  LoadedIndex,
  SavedGallery,
  SavedIndexStore,
} from '../services/clustering/cluster.service.js';
import { fileExists, isMissingFile } from '../file-exists.js';
import type { GalleryPage } from '../services/clustering/face-vector-store.js';
import type { NeighbourIndex } from '../services/clustering/face-clusterer.js';
import {
  graphSettingsOf,
  UsearchIndex,
  type GraphSettings,
  type UsearchIndexShape,
} from './usearch-index.repository.js';

/**
 * 2: small graphs are built by inserting one face at a time. A format-1 file may hold faces that concurrent
 * inserts into a small graph left unreachable (see UsearchIndex.addMany), so it is rebuilt rather than loaded.
 */
const INDEX_FILE_FORMAT = 2;

/** The gallery saved with the index, or why it cannot be used. */
type GalleryRead = { gallery: SavedGallery } | { galleryUnusable: string };

/** The sidecar `<file>.json`: what the index file holds and how to tell it is whole. */
interface IndexFileMeta extends FileChecksum {
  format: number;
  shape: UsearchIndexShape;
  watermark: IndexWatermark;
  bytes: number;
  /** The gallery file `<file>.gallery`, when one was saved with the index. */
  gallery?: GalleryFileMeta;
}

/**
 * `<file>.gallery`: the clusterer's gallery pages one after another, each as its face ids (f64), their
 * clusters (f64) and descriptors (f32), in the machine's byte order (a cache read back by the same node).
 */
interface GalleryFileMeta extends FileChecksum {
  faces: number;
  dimensions: number;
  facesPerPage: number;
  bytes: number;
}

/**
 * How a saved file is told whole: its CRC-32 (zlib's, about 3 GB/s here), or in files saved by earlier
 * versions its SHA-256 (about 1 GB/s), still verified so an upgrade does not cost a full rebuild. The files are
 * the worker's own cache, guarded against torn copies and damaged disks, not against someone who can write them:
 * at 10M faces (about 12 GB) SHA-256 alone took 12 s of the 60 s a restart may take.
 */
interface FileChecksum {
  crc32?: number;
  sha256?: string;
}

/** A running checksum of the bytes fed to it, of the kind `meta` holds (CRC-32 for a new file). */
class RunningChecksum {
  private crc = 0;
  private readonly hash;

  constructor(meta?: FileChecksum) {
    this.hash = isSha256(meta) ? createHash('sha256') : null;
  }

  update(bytes: Uint8Array): void {
    if (this.hash) this.hash.update(bytes);
    else this.crc = crc32(bytes, this.crc);
  }

  /** The checksum as the sidecar records it. */
  digest(): FileChecksum {
    return this.hash ? { sha256: this.hash.digest('hex') } : { crc32: this.crc };
  }

  /** Whether the bytes fed match `meta`'s checksum (false when it has none). */
  matches(meta: FileChecksum): boolean {
    return sameChecksum(this.digest(), meta);
  }
}

/** Whether `meta` records a SHA-256 (an earlier version's file) rather than a CRC-32 (a new one's). */
function isSha256(meta?: FileChecksum): boolean {
  return meta?.crc32 === undefined && meta?.sha256 !== undefined;
}

/** Whether a file's checksum is the one `meta` records (false when it records none). */
function sameChecksum(digest: FileChecksum, meta: FileChecksum): boolean {
  return digest.sha256 !== undefined ? digest.sha256 === meta.sha256 : digest.crc32 === meta.crc32;
}

/**
 * A saved usearch index (`<dataDir>/index/<embedder>.usearch`) so a cluster worker's start loads the graph
 * instead of inserting every face again (272 s at 1M faces, against 4 s to load). Only a cache: a missing,
 * corrupt or differently configured file is reported unusable and the caller rebuilds from Postgres. A checksum
 * is verified before usearch reads the file, as usearch trusts what it loads.
 */
export class UsearchIndexFile implements SavedIndexStore {
  private readonly metaFile: string;
  private readonly galleryFile: string;
  /** Present while usearch loads a file whose checksum is not yet known (see load). */
  private readonly loadingMarker: string;

  constructor(
    private readonly file: string,
    /**
     * A fresh, empty index configured as the worker's, or with a saved file's graph settings (the metric and
     * dimensions must be the worker's).
     */
    private readonly createIndex: (graph?: GraphSettings) => UsearchIndex,
  ) {
    this.metaFile = `${file}.json`;
    this.galleryFile = `${file}.gallery`;
    this.loadingMarker = `${file}.loading`;
  }

  async load(): Promise<LoadedIndex | { unusable: string }> {
    let meta: IndexFileMeta;
    try {
      meta = JSON.parse(await readFile(this.metaFile, 'utf8')) as IndexFileMeta;
    } catch (error) {
      return { unusable: isMissingFile(error) ? 'no saved index' : `unreadable ${this.metaFile}` };
    }
    if (meta.format !== INDEX_FILE_FORMAT) return { unusable: `saved index is of format ${meta.format}` };
    // A graph built with other settings (an earlier default: f16 before bf16) keeps them until the next full
    // rebuild: it finds the same faces, and building it again takes the better part of an hour at 10M faces.
    const graph = graphSettingsOf(meta.shape ?? {});
    if (!graph) return { unusable: 'saved index has graph settings this version does not build' };
    const index = this.createIndex(graph);
    if (meta.shape.metric !== index.shape.metric || meta.shape.dimensions !== index.shape.dimensions) {
      return { unusable: 'saved index has another metric or descriptor length' };
    }
    // A caller that builds only its own settings.
    if (JSON.stringify(index.shape) !== JSON.stringify(meta.shape)) {
      return { unusable: 'saved index has other settings' };
    }
    const since = stopwatch();
    const timings: Record<string, number> = {};
    try {
      if ((await stat(this.file)).size !== meta.bytes) return { unusable: 'saved index does not match its checksum' };
    } catch (error) {
      return { unusable: `saved index unreadable: ${messageOf(error)}` };
    }
    // The checksum is computed on its own thread while usearch loads the same bytes on this one, so the file is
    // read from disk once: at 10M faces (4.7 GB, out of the page cache) checking it first took 11.6 s and the load
    // 35.7 s more. Nothing searches the graph before the checksum matches. usearch trusts what it loads, and a
    // damaged file could crash the process in the load: the marker it leaves behind makes the next start check
    // the file before loading it, so a damaged file costs one crash, not a crash on every start.
    const checkFirst = await fileExists(this.loadingMarker);
    const refusal = fileChecksumOnAThread(this.file, meta).then(
      (digest) => (sameChecksum(digest, meta) ? null : 'saved index does not match its checksum'),
      (error: unknown) => `saved index unreadable: ${messageOf(error)}`,
    );
    if (checkFirst) {
      const refused = await refusal;
      timings.indexChecksum = since();
      if (refused) {
        await rm(this.loadingMarker, { force: true });
        return { unusable: refused };
      }
    } else {
      await writeFile(this.loadingMarker, `${process.pid}\n`);
    }
    // Every read of the gallery is queued before usearch loads the graph: usearch blocks this thread, and
    // meanwhile libuv's threads read the gallery, which used to be read only afterwards.
    const galleryRead = await this.startGalleryRead(meta);
    let loadFailure: string | null = null;
    try {
      index.load(this.file);
    } catch (error) {
      loadFailure = `saved index unreadable: ${messageOf(error)}`;
    }
    timings.indexLoad = since();
    const refused = (await refusal) ?? loadFailure;
    if (!checkFirst) timings.indexChecksumAfterLoad = since();
    await rm(this.loadingMarker, { force: true });
    const gallery = await galleryRead.done;
    timings.gallery = since();
    if (refused) return { unusable: refused };
    if (index.size !== meta.watermark.faces) return { unusable: 'saved index holds another number of faces' };
    return { index, watermark: meta.watermark, ...gallery, timings };
  }

  /**
   * Starts reading the gallery saved with the index: every read is queued at once (each column of each page,
   * 32 MB at most). `done` checks them in order and settles to the gallery, or to why it cannot be used (the
   * index still can, with Postgres's vectors); it never rejects. (Wrapped: a promise returned by an async
   * function would be awaited with it, reads and all.)
   */
  private async startGalleryRead(meta: IndexFileMeta): Promise<{ done: Promise<GalleryRead> }> {
    const saved = meta.gallery;
    if (!saved) return { done: Promise.resolve({ galleryUnusable: 'no gallery saved with the index' }) };
    if (saved.faces !== meta.watermark.faces) {
      return { done: Promise.resolve({ galleryUnusable: 'gallery holds another number of faces' }) };
    }
    let handle: FileHandle;
    let bytes: number;
    try {
      handle = await open(this.galleryFile, 'r');
      bytes = (await handle.stat()).size;
    } catch (error) {
      return { done: Promise.resolve(unreadableGallery(error)) };
    }
    if (bytes !== saved.bytes) {
      await handle.close();
      return { done: Promise.resolve({ galleryUnusable: 'gallery file has another size' }) };
    }
    const pages: GalleryPage[] = [];
    for (let from = 0; from < saved.faces; from += saved.facesPerPage) {
      const faces = Math.min(saved.facesPerPage, saved.faces - from);
      pages.push({
        faceIds: new Float64Array(faces),
        clusterIds: new Float64Array(faces),
        vectors: new Float32Array(faces * saved.dimensions),
      });
    }
    let position = 0;
    const reads = pages.flatMap((page) =>
      [page.faceIds, page.clusterIds, page.vectors].map((column) => {
        const read = readFully(handle, new Uint8Array(column.buffer, column.byteOffset, column.byteLength), position);
        position += column.byteLength;
        // Awaited in order below: one failing after an earlier one has failed must not go unhandled.
        read.catch(() => undefined);
        return read;
      }),
    );
    const finish = async (): Promise<GalleryRead> => {
      try {
        const checksum = new RunningChecksum(saved);
        for (const read of reads) checksum.update(await read);
        if (!checksum.matches(saved)) return { galleryUnusable: 'gallery does not match its checksum' };
        return { gallery: { dimensions: saved.dimensions, facesPerPage: saved.facesPerPage, pages } };
      } catch (error) {
        return unreadableGallery(error);
      } finally {
        // Only once no read is left: one still running would read a closed handle.
        await Promise.allSettled(reads);
        await handle.close();
      }
    };
    return { done: finish() };
  }

  /**
   * Writes the index, the gallery and their watermark; returns the files' size. Each file is written aside and
   * renamed, then the sidecar: a crash in between leaves a checksum that no longer matches, never a
   * half-written file.
   */
  async save(index: NeighbourIndex, watermark: IndexWatermark, gallery?: SavedGallery): Promise<number> {
    if (!(index instanceof UsearchIndex)) throw new Error('only a usearch index can be saved');
    await mkdir(path.dirname(this.file), { recursive: true });
    // Per process: a recluster run and the worker may save at once; the checksum then tells whose file won.
    const partial = `${this.file}.${process.pid}.partial`;
    const partialGallery = `${this.galleryFile}.${process.pid}.partial`;
    try {
      index.save(partial);
      const bytes = (await stat(partial)).size;
      const meta: IndexFileMeta = {
        format: INDEX_FILE_FORMAT,
        shape: index.shape,
        watermark,
        bytes,
        ...(await fileChecksumOnAThread(partial)),
      };
      if (gallery) meta.gallery = await writeGallery(partialGallery, gallery, watermark.faces);
      await rename(partial, this.file);
      if (gallery) await rename(partialGallery, this.galleryFile);
      await writeFile(`${this.metaFile}.${process.pid}.partial`, JSON.stringify(meta));
      await rename(`${this.metaFile}.${process.pid}.partial`, this.metaFile);
      return bytes + (meta.gallery?.bytes ?? 0);
    } finally {
      await rm(partial, { force: true });
      await rm(partialGallery, { force: true });
    }
  }
}

async function writeGallery(file: string, gallery: SavedGallery, faces: number): Promise<GalleryFileMeta> {
  const checksum = new RunningChecksum();
  let bytes = 0;
  let written = 0;
  const handle = await open(file, 'w');
  try {
    for (const page of gallery.pages) {
      if (page.faceIds.length < gallery.facesPerPage && written + page.faceIds.length < faces) {
        throw new Error('a gallery page before the last is not full');
      }
      for (const column of [page.faceIds, page.clusterIds, page.vectors]) {
        const view = new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
        await handle.write(view);
        checksum.update(view);
        bytes += view.length;
      }
      written += page.faceIds.length;
    }
  } finally {
    await handle.close();
  }
  // The gallery and the index are saved as one: the same faces, or neither is of use.
  if (written !== faces) throw new Error(`gallery holds ${written} faces, the index ${faces}`);
  return {
    faces,
    dimensions: gallery.dimensions,
    facesPerPage: gallery.facesPerPage,
    bytes,
    ...checksum.digest(),
  };
}

/** How much of a file its checksum reads at a time. */
const CHECKSUM_CHUNK_BYTES = 4 << 20;

/**
 * The checksum of a whole file, of the kind `meta` holds (CRC-32 for a new file), computed on a worker thread so
 * that it goes on while usearch's load blocks this one. Read into one buffer, reused: a read stream's fresh
 * buffer for every chunk made it about 7x slower (a 468 MB index: 0.91 s against 0.13 s warm, 1.2 s against
 * 0.25 s out of the page cache). Plain JavaScript, evaluated: the worker loads no module of this project.
 */
function fileChecksumOnAThread(file: string, meta?: FileChecksum): Promise<FileChecksum> {
  const sha256 = isSha256(meta);
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECKSUM_WORKER, {
      eval: true,
      workerData: { file, sha256, chunkBytes: CHECKSUM_CHUNK_BYTES },
    });
    worker.once('message', (digest: FileChecksum) => resolve(digest));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`checksum thread exited with code ${code}`)));
  });
}

const CHECKSUM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, openSync, readSync } = require('node:fs');
const { crc32 } = require('node:zlib');
const { createHash } = require('node:crypto');
const { file, sha256, chunkBytes } = workerData;
const hash = sha256 ? createHash('sha256') : null;
let crc = 0;
const fd = openSync(file, 'r');
try {
  const buffer = Buffer.allocUnsafe(chunkBytes);
  for (let position = 0; ; ) {
    const bytesRead = readSync(fd, buffer, 0, chunkBytes, position);
    if (bytesRead === 0) break;
    const bytes = buffer.subarray(0, bytesRead);
    if (hash) hash.update(bytes);
    else crc = crc32(bytes, crc);
    position += bytesRead;
  }
} finally {
  closeSync(fd);
}
parentPort.postMessage(hash ? { sha256: hash.digest('hex') } : { crc32: crc });
`;

/** Seconds since its previous call (or since it was made), to the millisecond. */
function stopwatch(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const seconds = Math.round(now - last) / 1000;
    last = now;
    return seconds;
  };
}

/** Reads `bytes.length` bytes from `position` into `bytes` (a read may return fewer); the bytes. */
async function readFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<Uint8Array> {
  for (let at = 0; at < bytes.length;) {
    const { bytesRead } = await handle.read(bytes, at, bytes.length - at, position + at);
    if (bytesRead === 0) throw new Error('gallery file ended early');
    at += bytesRead;
  }
  return bytes;
}

function unreadableGallery(error: unknown): { galleryUnusable: string } {
  return { galleryUnusable: isMissingFile(error) ? 'gallery file missing' : `gallery unreadable: ${messageOf(error)}` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

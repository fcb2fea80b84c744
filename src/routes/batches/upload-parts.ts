import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import yauzl from 'yauzl';
import type { UploadLimits } from '../../config.js';
import { AppError } from '../../services/errors.js';
import type { UploadPart } from '../../services/ingest.service.js';

const tooLarge = (limit: number) =>
  new AppError(413, 'upload_too_large', `the upload is larger than ${limit} bytes`, { limit });

/** Rejects an upload whose declared length is over the limit before reading any of it. */
export function checkDeclaredLength(request: FastifyRequest, limits: UploadLimits): void {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes);
}

async function readLimited(stream: AsyncIterable<Buffer>, limit: number, onOver: () => AppError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > limit) throw onOver();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const manifestTooLarge = (limit: number) => () =>
  new AppError(413, 'manifest_too_large', `the manifest is larger than ${limit} bytes`, { limit });

/**
 * The parts of a `multipart/form-data` upload, streamed: a part named `manifest` (file or field) and one
 * file part per photo, keyed by its file name. Photos go to disk as they arrive, so memory stays flat.
 */
export async function* multipartParts(request: FastifyRequest, limits: UploadLimits): AsyncGenerator<UploadPart> {
  let received = 0;
  // Counts the raw body for chunked uploads, which carry no Content-Length to check up front.
  const onData = (chunk: Buffer) => (received += chunk.length);
  request.raw.on('data', onData);
  try {
    const parts = request.parts({
      limits: {
        // The photo limit is enforced by the photo store, which reports it per row instead of failing the batch.
        fileSize: Math.max(limits.maxManifestBytes, limits.maxPhotoBytes) + 1,
        fieldSize: limits.maxManifestBytes,
        files: limits.maxRowsPerBatch + 1,
        parts: limits.maxRowsPerBatch + 20,
      },
    });
    for await (const part of parts) {
      if (received > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes);
      if (part.fieldname === 'manifest') {
        if (part.type === 'file') {
          const content = await readLimited(
            part.file,
            limits.maxManifestBytes,
            manifestTooLarge(limits.maxManifestBytes),
          );
          if (part.file.truncated) throw manifestTooLarge(limits.maxManifestBytes)();
          yield { kind: 'manifest', content };
        } else {
          if (part.valueTruncated) throw manifestTooLarge(limits.maxManifestBytes)();
          yield { kind: 'manifest', content: Buffer.from(String(part.value), 'utf8') };
        }
      } else if (part.type === 'file') {
        // The whole body's budget holds while a part streams, not only between parts: past the limit a chunked
        // upload (no Content-Length) writes nothing more to disk. The part is still read to its end (at most the
        // photo limit, dropped), so the parser reaches a point where the 413 can be answered.
        let over = false;
        const stream = part.file.pipe(
          new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              over ||= received > limits.maxUploadBytes;
              callback(null, over ? undefined : chunk);
            },
            flush(callback) {
              callback(over ? tooLarge(limits.maxUploadBytes) : null);
            },
          }),
        );
        yield { kind: 'photo', name: part.filename || part.fieldname, stream };
      } else {
        throw new AppError(400, 'unknown_field', `unexpected form field "${part.fieldname}"`, {
          field: part.fieldname,
        });
      }
    }
    if (received > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes);
  } finally {
    request.raw.off('data', onData);
  }
}

/**
 * The parts of an `application/zip` upload. A zip's index sits at its end, so the body is spooled to a temp
 * file (bounded by the upload limit), then `manifest.csv` is read first and the photos one entry at a time.
 */
export async function* zipParts(
  body: Readable,
  limits: UploadLimits,
  tempPath: (suffix: string) => Promise<string>,
): AsyncGenerator<UploadPart> {
  const file = await tempPath('.zip');
  try {
    let received = 0;
    await pipeline(
      body,
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          if (received > limits.maxUploadBytes) callback(tooLarge(limits.maxUploadBytes));
          else callback(null, chunk);
        },
      }),
      createWriteStream(file),
    );
    if (received === 0) throw new AppError(400, 'empty_body', 'the upload is empty');
    const zip = await openZip(file);
    try {
      const entries = await listEntries(zip, limits.maxRowsPerBatch + 10);
      // A small zip may declare gigabytes (a zip bomb, or photos no row names): the whole archive gets the same
      // budget as an uncompressed upload. Entry sizes are checked against what they inflate to (validateEntrySizes).
      const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
      if (declared > limits.maxUploadBytes) {
        throw new AppError(
          413,
          'upload_too_large',
          `the zip inflates to ${declared} bytes, over the ${limits.maxUploadBytes}-byte upload limit`,
          { limit: limits.maxUploadBytes },
        );
      }
      const manifests = entries.filter((entry) => path.posix.basename(entry.fileName).toLowerCase() === 'manifest.csv');
      if (manifests.length === 0) throw new AppError(400, 'manifest_missing', 'the zip has no manifest.csv');
      if (manifests.length > 1) throw new AppError(400, 'duplicate_manifest', 'the zip has more than one manifest.csv');
      const manifest = manifests[0]!;
      if (manifest.uncompressedSize > limits.maxManifestBytes) throw manifestTooLarge(limits.maxManifestBytes)();
      yield {
        kind: 'manifest',
        content: await readLimited(
          await openEntry(zip, manifest),
          limits.maxManifestBytes,
          manifestTooLarge(limits.maxManifestBytes),
        ),
      };
      for (const entry of entries) {
        if (entry === manifest) continue;
        // Oversized entries are judged by their declared size alone: inflating them would only feed a zip bomb.
        const stream = entry.uncompressedSize > limits.maxPhotoBytes ? Readable.from([]) : lazyEntry(zip, entry);
        yield { kind: 'photo', name: entry.fileName, stream, declaredBytes: entry.uncompressedSize, lazy: true };
      }
    } finally {
      zip.close();
    }
  } finally {
    await rm(file, { force: true });
  }
}

// yauzl's wording for entry names that would escape the folder they are extracted to.
const UNSAFE_NAME = /absolute path|invalid relative path|invalid characters in fileName/;

function invalidZip(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof Error && UNSAFE_NAME.test(error.message)) {
    return new AppError(400, 'zip_unsafe_entry', 'the zip holds an entry with an absolute or "../" path', undefined, {
      cause: error,
    });
  }
  return new AppError(
    400,
    'invalid_zip',
    `the upload is not a readable zip archive: ${(error as Error).message}`,
    undefined,
    {
      cause: error,
    },
  );
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (error, zip) => {
      if (error || !zip) reject(invalidZip(error));
      else resolve(zip);
    });
  });
}

function isIgnored(name: string): boolean {
  // Folders, macOS resource forks and hidden files are packaging noise, not photos.
  return name.endsWith('/') || name.startsWith('__MACOSX/') || path.posix.basename(name).startsWith('.');
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** A Unix symlink stored in the zip (its "content" is the link target, which a careless extractor follows). */
function isSymlink(entry: yauzl.Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

function listEntries(zip: yauzl.ZipFile, maxEntries: number): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    zip.on('entry', (entry: yauzl.Entry) => {
      if (isSymlink(entry)) {
        reject(new AppError(400, 'zip_unsafe_entry', 'the zip holds a symbolic link; send plain files only'));
        return;
      }
      if (!isIgnored(entry.fileName)) entries.push(entry);
      if (entries.length > maxEntries) {
        reject(new AppError(413, 'too_many_files', `the zip holds more than ${maxEntries} files`));
        return;
      }
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', (error) => reject(invalidZip(error)));
    zip.readEntry();
  });
}

/**
 * An entry's bytes with its failures reported as the client's fault: yauzl stops an entry that inflates past
 * its declared size (a zip bomb lying in its headers) or fails its CRC, and that is a bad upload, not a 500.
 */
/** A zip entry as a stream that opens and inflates it only when read, so an unwanted entry costs nothing. */
function lazyEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const stream = await openEntry(zip, entry);
    // yauzl keeps inflating into a stream that already failed and reports each later chunk again: the first
    // failure reaches the reader below, the echoes must not crash the process.
    stream.on('error', () => undefined);
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } catch (error) {
      throw invalidZip(error);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream) reject(invalidZip(error));
      else resolve(stream);
    });
  });
}

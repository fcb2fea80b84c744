import yazl from 'yazl';

export interface ZipEntry {
  name: string;
  content: Buffer | string;
  /** Unix mode, e.g. 0o120777 for a symbolic link. */
  mode?: number;
  compress?: boolean;
}

/** A zip archive built in memory with yazl. */
export function zipOf(entries: readonly ZipEntry[]): Promise<Buffer> {
  const archive = new yazl.ZipFile();
  for (const entry of entries) {
    const content = Buffer.isBuffer(entry.content) ? entry.content : Buffer.from(entry.content);
    archive.addBuffer(content, entry.name, {
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
      compress: entry.compress ?? true,
    });
  }
  archive.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    archive.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    archive.outputStream.on('error', reject);
  });
}

/**
 * Renames an entry in a built zip to a name yazl refuses to write (`../x`, `/x`): the new name must have the same
 * length, and it replaces the old one in the local header and the central directory alike.
 */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('names must have the same length');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  let replaced = 0;
  for (let at = out.indexOf(needle); at !== -1; at = out.indexOf(needle, at + 1)) {
    out.write(to, at);
    replaced++;
  }
  if (replaced === 0) throw new Error(`no entry named ${from}`);
  return out;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;

/** Makes every header of entry `name` declare `size` uncompressed bytes: a zip bomb that lies about itself. */
export function declareUncompressedSize(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  for (let at = 0; at + 46 < out.length; at++) {
    const signature = out.readUInt32LE(at);
    if (signature === LOCAL_HEADER) {
      const nameLength = out.readUInt16LE(at + 26);
      if (out.toString('utf8', at + 30, at + 30 + nameLength) === name) out.writeUInt32LE(size, at + 22);
    } else if (signature === CENTRAL_HEADER) {
      const nameLength = out.readUInt16LE(at + 28);
      if (out.toString('utf8', at + 46, at + 46 + nameLength) === name) out.writeUInt32LE(size, at + 24);
    }
  }
  return out;
}

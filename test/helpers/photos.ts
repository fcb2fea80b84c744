import { readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';

export { samplePhoto, samplePhotoPath } from '../../src/demo/sample-portraits.js';

/** A small distinct JPEG (solid colour `seed`), for tests that need many different photos cheaply. */
export function tinyJpeg(seed: number, size = 32): Promise<Buffer> {
  return sharp({
    create: {
      width: size,
      height: size,
      channels: 3,
      background: { r: seed % 256, g: (seed * 7) % 256, b: (seed * 13) % 256 },
    },
  })
    .jpeg()
    .toBuffer();
}

export function tinyPng(seed: number): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: seed % 256, g: 1, b: 2 } } })
    .png()
    .toBuffer();
}

export function tinyWebp(seed: number): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: seed % 256, b: 2 } } })
    .webp()
    .toBuffer();
}

/**
 * A PNG whose header declares `width` x `height` but carries a tiny body: a decompression-bomb probe that costs
 * nothing to build. Only the IHDR dimensions (and their CRC) are rewritten.
 */
export async function pngDeclaring(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await tinyPng(1));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Every file under a data dir's photos/ and tmp/ (stored photos and upload scratch files), sorted. */
export async function photoStoreFiles(dataDir: string): Promise<string[]> {
  const files: string[] = [];
  for (const dir of ['photos', 'tmp']) {
    const entries = await readdir(path.join(dataDir, dir), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isFile()) files.push(path.join(entry.parentPath, entry.name));
  }
  return files.sort();
}

/** Sets the files' modification time `ms` into the past. */
export async function ageFiles(files: readonly string[], ms: number): Promise<void> {
  const then = new Date(Date.now() - ms);
  for (const file of files) await utimes(file, then, then);
}

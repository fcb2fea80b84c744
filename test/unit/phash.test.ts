import { createRequire } from 'node:module';
import { access } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp, { type SharpOptions } from 'sharp';
import { describe, expect, it } from 'vitest';
import { listPhotos } from '../../src/eval/in-process-pipeline.js';
import { samplePhoto } from '../../src/demo/sample-portraits.js';
import { ImageRepository } from '../../src/repositories/image.repository.js';

// The published package whose hashes are stored in `faces.photo_phash`: the reference the fast hash must equal.
const referencePhash = createRequire(import.meta.url)('sharp-phash') as (
  image: Buffer,
  options?: SharpOptions,
) => Promise<string>;

const FACES_DEV = path.resolve('../shared/datasets/faces-dev');
const images = new ImageRepository(os.tmpdir(), 40_000_000);

/** The pipeline's hash and sharp-phash's, on the same decoded photo, as hex. */
async function bothHashes(bytes: Buffer) {
  const { image } = await images.decode(bytes, 1024);
  const bits = await referencePhash(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  let reference = '';
  for (let i = 0; i < 64; i += 4) reference += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return { fast: await images.perceptualHash(image), reference };
}

describe('perceptual hash', () => {
  it('equals sharp-phash bit for bit on the sample photos and their variants', async () => {
    for (let n = 1; n <= 6; n++) {
      const photo = await samplePhoto(n);
      for (const variant of [
        photo,
        await sharp(photo).resize({ width: 300 }).jpeg({ quality: 60 }).toBuffer(),
        await sharp(photo).greyscale().png().toBuffer(),
        await sharp(photo).modulate({ brightness: 1.3 }).jpeg().toBuffer(),
      ]) {
        const { fast, reference } = await bothHashes(variant);
        expect(fast).toBe(reference);
      }
    }
  });

  it('equals sharp-phash on every photo of faces-dev', async (context) => {
    const present = await access(FACES_DEV).then(
      () => true,
      () => false,
    );
    if (!present) context.skip(`faces-dev is absent (${FACES_DEV}): only the sample photos were compared`);
    const files = await listPhotos(FACES_DEV);
    const differing: string[] = [];
    for (const file of files) {
      const { fast, reference } = await bothHashes(await sharp(file).toBuffer());
      if (fast !== reference) differing.push(path.relative(FACES_DEV, file));
    }
    expect(files.length).toBeGreaterThan(500);
    expect(differing).toEqual([]);
  });
});

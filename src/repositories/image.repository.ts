import sharp from 'sharp';
import type { FaceBox, RgbImage } from './face-engine/face-engine.repository.js';
import { FileStore } from './file-store.repository.js';

/** pHash samples the photo at 32x32 grey and keeps the 8x8 lowest DCT frequencies after the constant one. */
const PHASH_SAMPLE = 32;
const PHASH_LOW = 8;
/** cos((2k + 1) n pi / 2N) for k < 32 and n <= 8: only the frequencies the hash reads are ever computed. */
const PHASH_COS = Array.from({ length: PHASH_SAMPLE }, (_, k) =>
  Float64Array.from({ length: PHASH_LOW + 1 }, (_, n) => Math.cos(((2 * k + 1) / (2 * PHASH_SAMPLE)) * n * Math.PI)),
);

/**
 * sharp-phash's 64-bit pHash, as bits: the same grey 32x32 sample and the same DCT-II coefficients, but only the
 * 9x9 block the hash reads, computed separably (rows, then columns: about 10,000 multiplications against the
 * package's full 32x32 transform's million). Its hashes are stored, so this must give the same bits: a test
 * compares the two on real photos.
 */
export function phashBits(grey: Uint8Array | Buffer): string {
  const n = PHASH_SAMPLE;
  // rows[u][j]: the u-th frequency along x of row j (sharp-phash's f[x][y] is pixel (x, y)).
  const rows = Array.from({ length: PHASH_LOW + 1 }, () => new Float64Array(n));
  for (let u = 1; u <= PHASH_LOW; u++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += PHASH_COS[i]![u]! * grey[n * j + i]!;
      rows[u]![j] = sum;
    }
  }
  const coefficients = new Float64Array(PHASH_LOW * PHASH_LOW);
  let total = 0;
  for (let u = 1; u <= PHASH_LOW; u++) {
    for (let v = 1; v <= PHASH_LOW; v++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += PHASH_COS[j]![v]! * rows[u]![j]!;
      const value = sum / 4;
      coefficients[(u - 1) * PHASH_LOW + (v - 1)] = value;
      total += value;
    }
  }
  const average = total / (PHASH_LOW * PHASH_LOW);
  let bits = '';
  for (const value of coefficients) bits += value > average ? '1' : '0';
  return bits;
}

export interface DecodedPhoto {
  /** The photo upright (EXIF applied), alpha flattened on white, sRGB 8-bit, scaled to fit `maxSide`. */
  image: RgbImage;
  /** Size of the upright photo before scaling: face sizes are judged in these pixels. */
  originalWidth: number;
  originalHeight: number;
  /** original / scaled: multiply scaled coordinates by it to get original pixels. */
  scale: number;
}

export class UnreadableImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreadableImageError';
  }
}

/**
 * Pixel work with sharp: decoding KYC photos (any orientation, CMYK, 16-bit, greyscale, alpha), padding,
 * face crops, thumbnails and the photo's perceptual hash.
 */
export class ImageRepository {
  private readonly files: FileStore;

  constructor(
    dataDir: string,
    private readonly maxPixels: number,
  ) {
    this.files = new FileStore(dataDir);
  }

  /** Decodes a photo for the detector. Throws {@link UnreadableImageError} for anything sharp cannot read. */
  async decode(bytes: Buffer, maxSide: number): Promise<DecodedPhoto> {
    try {
      const meta = await sharp(bytes, { limitInputPixels: this.maxPixels }).metadata();
      // EXIF orientations 5-8 swap width and height once the photo is turned upright.
      const swapped = (meta.orientation ?? 1) >= 5;
      const originalWidth = (swapped ? meta.height : meta.width) ?? 0;
      const originalHeight = (swapped ? meta.width : meta.height) ?? 0;
      if (originalWidth <= 0 || originalHeight <= 0) throw new Error('no dimensions');
      const { data, info } = await sharp(bytes, { limitInputPixels: this.maxPixels, failOn: 'error' })
        .rotate()
        .flatten({ background: '#ffffff' })
        .toColourspace('srgb')
        .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
        .removeAlpha()
        .raw({ depth: 'uchar' })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
      return {
        image: { data, width: info.width, height: info.height },
        originalWidth,
        originalHeight,
        scale: originalWidth / info.width,
      };
    } catch (error) {
      if (error instanceof UnreadableImageError) throw error;
      throw new UnreadableImageError(`the photo cannot be decoded: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * The image centred on a mid-grey canvas `factor` times its size. Detectors trained on faces with context
   * miss tightly cropped portraits; with a margin they find them.
   */
  async pad(image: RgbImage, factor: number): Promise<{ image: RgbImage; offsetX: number; offsetY: number }> {
    const offsetX = Math.round((image.width * (factor - 1)) / 2);
    const offsetY = Math.round((image.height * (factor - 1)) / 2);
    const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extend({ left: offsetX, right: offsetX, top: offsetY, bottom: offsetY, background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { image: { data, width: info.width, height: info.height }, offsetX, offsetY };
  }

  /** The face region as `size` x `size` 8-bit grey pixels, for sharpness measures. */
  async greyFace(image: RgbImage, box: FaceBox, size: number): Promise<Uint8Array> {
    const region = clampBox(box, image.width, image.height);
    const { data } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract(region)
      .greyscale()
      .resize(size, size, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return new Uint8Array(data.buffer, data.byteOffset, size * size);
  }

  /** A 160 px JPEG of the face with some margin, written atomically to `relative` inside the data dir. */
  async writeThumbnail(image: RgbImage, box: FaceBox, relative: string): Promise<string> {
    const margin = 0.25;
    const region = clampBox(
      {
        x: box.x - box.width * margin,
        y: box.y - box.height * margin,
        width: box.width * (1 + 2 * margin),
        height: box.height * (1 + 2 * margin),
      },
      image.width,
      image.height,
    );
    const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract(region)
      .resize(160, 160, { fit: 'cover' })
      // Plain libjpeg: mozjpeg's smaller files cost ~8 ms a thumbnail, a tenth of a photo's budget.
      .jpeg({ quality: 85 })
      .toBuffer();
    await this.files.writeAtomically(relative, jpeg);
    return relative;
  }

  /**
   * 64-bit DCT perceptual hash of the whole photo as 16 hex digits, computed on the decoded upright pixels
   * (no second decode; an EXIF-rotated copy of a photo hashes like the original).
   */
  async perceptualHash(image: RgbImage): Promise<string> {
    const grey = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .greyscale()
      .resize(PHASH_SAMPLE, PHASH_SAMPLE, { fit: 'fill' })
      .rotate()
      .raw()
      .toBuffer();
    const bits = phashBits(grey);
    let hex = '';
    for (let i = 0; i < 64; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
    return hex;
  }
}

/** A whole-pixel region inside the image, at least 1x1. */
export function clampBox(box: FaceBox, width: number, height: number) {
  const left = Math.min(width - 1, Math.max(0, Math.floor(box.x)));
  const top = Math.min(height - 1, Math.max(0, Math.floor(box.y)));
  const right = Math.max(left + 1, Math.min(width, Math.ceil(box.x + box.width)));
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(box.y + box.height)));
  return { left, top, width: right - left, height: bottom - top };
}

import sharp from 'sharp';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ALL_SAMPLE_FACES, portrait } from './sample-portraits.js';
import { seededRandom } from '../eval/seeded-random.js';

/** One real person the demo can photograph: a single source photo, transformed for each use. */
export interface FaceSource {
  /** Where the face comes from, e.g. `faces-dev/ORL_s07/1.png` or `face-api sample2 face 1`. */
  label: string;
  /** The source photo as a KYC-style JPEG (EXIF-rotated, no alpha, 200-640 px wide). */
  load(): Promise<Buffer>;
}

const PHOTO = /\.(jpe?g|png|webp)$/i;

/**
 * One source per identity folder of `dir` (<identity>/<image>): its first photo in natural order (1, 2, ... 10).
 * Different photos of one person are deliberately not used for the same subscriber: the clusterer groups them
 * only about 70% of the time, which would make a planted case or a trap depend on luck.
 */
export async function datasetSources(dir: string): Promise<FaceSource[]> {
  const identities = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
  const sources: FaceSource[] = [];
  for (const identity of identities) {
    const files = (await readdir(path.join(dir, identity)))
      .filter((file) => PHOTO.test(file))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (files.length === 0) continue;
    const file = path.join(dir, identity, files[0]!);
    sources.push({ label: `${path.basename(dir)}/${identity}/${files[0]!}`, load: () => normalisePhoto(file) });
  }
  return sources;
}

/** The 21 people in the group photos shipped with @vladmandic/face-api, cut out as portraits. */
export function sampleSources(): FaceSource[] {
  return ALL_SAMPLE_FACES.map(([sample, index]) => ({
    label: `face-api sample${sample} face ${index + 1}`,
    load: () => portrait(sample, index, 0),
  }));
}

/**
 * A dataset photo as an operator would send it: upright, no alpha, JPEG, 360-640 px wide. Tight face crops
 * (ORL's 92x112 studio shots, 150 px TV frames) are mounted on a grey card twice their size first: the detector
 * is unsteady on a face that touches the frame, so recrops of the bare crop would embed as different people.
 */
async function normalisePhoto(file: string): Promise<Buffer> {
  const { width = 0, height = 0 } = await sharp(file).rotate().metadata();
  let image = sharp(file).rotate().flatten({ background: '#ffffff' });
  if (width < 200) {
    const [x, y] = [Math.round(width / 2), Math.round(height / 2)];
    const mounted = await image
      .extend({ left: x, right: x, top: y, bottom: y, background: { r: 128, g: 128, b: 128 } })
      .toBuffer();
    image = sharp(mounted).resize({ width: 360, kernel: 'lanczos3' });
  } else if (width > 640) {
    image = image.resize({ width: 640 });
  }
  return image.jpeg({ quality: 92 }).toBuffer();
}

/**
 * How a photo is re-used. `mild`: the same person photographed again at a counter (a few pixels of crop, a
 * slightly different size and compression). The others are what fraud rings do to one stolen photo to make it
 * look new: recrop, rescale, recompress, turn grey, rotate a few degrees.
 */
export const RING_TRANSFORMS = ['recropped', 'rescaled', 'recompressed', 'grey', 'rotated'] as const;
export type PhotoTransform = 'copy' | 'mild' | (typeof RING_TRANSFORMS)[number];

export { seededRandom } from '../eval/seeded-random.js';

const between = (random: () => number, low: number, high: number) => low + (high - low) * random();

/** `source` transformed as `transform` says, as a JPEG. */
export async function transformPhoto(source: Buffer, transform: PhotoTransform, random: () => number): Promise<Buffer> {
  if (transform === 'copy') return source;
  const { width = 0, height = 0 } = await sharp(source).metadata();
  const crop = (share: number) => {
    const left = Math.round(width * share * random());
    const top = Math.round(height * share * random());
    const right = Math.round(width * share * random());
    const bottom = Math.round(height * share * random());
    return { left, top, width: width - left - right, height: height - top - bottom };
  };
  switch (transform) {
    case 'mild':
      return sharp(source)
        .extract(crop(0.03))
        .resize({ width: Math.round(width * between(random, 0.95, 1.1)) })
        .modulate({ brightness: between(random, 0.95, 1.05) })
        .jpeg({ quality: Math.round(between(random, 80, 92)) })
        .toBuffer();
    case 'recropped':
      return sharp(source).extract(crop(0.07)).jpeg({ quality: 88 }).toBuffer();
    case 'rescaled':
      return sharp(source)
        .resize({
          width: Math.round(width * (random() < 0.5 ? between(random, 0.75, 0.85) : between(random, 1.2, 1.4))),
        })
        .jpeg({ quality: 88 })
        .toBuffer();
    case 'recompressed':
      return sharp(source)
        .jpeg({ quality: Math.round(between(random, 45, 60)) })
        .toBuffer();
    case 'grey':
      return sharp(source).greyscale().jpeg({ quality: 85 }).toBuffer();
    case 'rotated': {
      const angle = (random() < 0.5 ? -1 : 1) * between(random, 2, 4);
      const rotated = await sharp(source)
        .rotate(angle, { background: '#f0f0f0' })
        .toBuffer({ resolveWithObject: true });
      // Back to the original frame, as a rescan of a tilted print would be.
      const left = Math.max(0, Math.floor((rotated.info.width - width) / 2));
      const top = Math.max(0, Math.floor((rotated.info.height - height) / 2));
      return sharp(rotated.data)
        .extract({
          left,
          top,
          width: Math.min(width, rotated.info.width),
          height: Math.min(height, rotated.info.height),
        })
        .jpeg({ quality: 88 })
        .toBuffer();
    }
  }
}

/** A KYC "photo" with no face in it: a photographed blank form (grey paper with some noise). */
export async function facelessPhoto(): Promise<Buffer> {
  const width = 360;
  const height = 480;
  const pixels = Buffer.alloc(width * height * 3);
  const random = seededRandom(7);
  for (let i = 0; i < pixels.length; i += 3) {
    const y = Math.floor(i / 3 / width);
    const shade = 200 + Math.round(random() * 20) - (y % 60 < 3 ? 60 : 0);
    pixels[i] = shade;
    pixels[i + 1] = shade;
    pixels[i + 2] = shade - 10;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
}

import sharp from 'sharp';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

const FACE_API_DEMO = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
  'demo',
);

/** A real group photo shipped inside the face-api package (`n` = 1..6). */
export function samplePhotoPath(n: number): string {
  return path.join(FACE_API_DEMO, `sample${n}.jpg`);
}

export function samplePhoto(n: number): Promise<Buffer> {
  return readFile(samplePhotoPath(n));
}

/**
 * Face boxes (x, y, width, height as shares of the photo) that BlazeFace finds in the group photos shipped
 * with @vladmandic/face-api (`demo/sample{1..6}.jpg`), measured once. Each is a different person.
 */
export const SAMPLE_FACES: Record<number, [number, number, number, number][]> = {
  1: [
    [0.204, 0.291, 0.131, 0.197],
    [0.77, 0.19, 0.104, 0.155],
    [0.431, 0.337, 0.121, 0.183],
  ],
  2: [
    [0.75, 0.124, 0.129, 0.181],
    [0.176, 0.119, 0.122, 0.171],
    [0.44, 0.176, 0.132, 0.184],
  ],
  3: [
    [0.294, 0.261, 0.134, 0.191],
    [0.549, 0.18, 0.137, 0.195],
    [0.732, 0.227, 0.152, 0.216],
  ],
  4: [
    [0.346, 0.079, 0.104, 0.137],
    [0.659, 0.125, 0.114, 0.151],
    [0.501, 0.142, 0.123, 0.164],
    [0.117, 0.162, 0.112, 0.148],
  ],
  5: [
    [0.404, 0.099, 0.101, 0.139],
    [0.29, 0.319, 0.115, 0.158],
    [0.574, 0.163, 0.119, 0.163],
    [0.725, 0.293, 0.147, 0.201],
  ],
  6: [
    [0.12, 0.338, 0.134, 0.168],
    [0.588, 0.218, 0.137, 0.171],
    [0.761, 0.192, 0.14, 0.175],
    [0.337, 0.237, 0.143, 0.178],
  ],
};

/** Every sample face as `[sample, index]`: 21 different people. */
export const ALL_SAMPLE_FACES: [number, number][] = Object.entries(SAMPLE_FACES).flatMap(([sample, faces]) =>
  faces.map((_, index): [number, number] => [Number(sample), index]),
);

/**
 * A KYC-style portrait (3:4, one face about half the width) cut from a sample group photo. `variant` changes
 * width, brightness and JPEG quality, so one person can appear in several distinct photos.
 */
export async function portrait(sample: number, index: number, variant = 0): Promise<Buffer> {
  const source = await samplePhoto(sample);
  const { width = 0, height = 0 } = await sharp(source).metadata();
  const [fx, fy, fw, fh] = SAMPLE_FACES[sample]![index]!;
  const cropWidth = Math.min(width, Math.round(fw * width * 2));
  const cropHeight = Math.min(height, Math.round((cropWidth * 4) / 3));
  const centreX = (fx + fw / 2) * width;
  const left = Math.max(0, Math.min(width - cropWidth, Math.round(centreX - cropWidth / 2)));
  const top = Math.max(0, Math.min(height - cropHeight, Math.round(fy * height - 0.45 * fh * height)));
  return sharp(source)
    .extract({ left, top, width: cropWidth, height: cropHeight })
    .resize({ width: 360 + (variant % 4) * 60 })
    .modulate({ brightness: 1 + ((variant % 3) - 1) * 0.08 })
    .jpeg({ quality: 80 + (variant % 3) * 5 })
    .toBuffer();
}

import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxEmbedder } from '../../src/repositories/face-engine/onnx-embedder.repository.js';
import { alignedChip, ARCFACE_TEMPLATE, fitSimilarity, type Point2 } from '../../src/services/face-alignment.js';
import { seededRandom } from '../../src/eval/seeded-random.js';
import { randomProjectionModel } from '../helpers/onnx-model.js';

let dir: string;
let model: { file: string; sha256: string };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'simsift-onnx-'));
  const bytes = randomProjectionModel();
  const file = path.join(dir, 'embedder.onnx');
  await writeFile(file, bytes);
  model = { file, sha256: createHash('sha256').update(bytes).digest('hex') };
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A 300x300 photo of smooth random texture, and 68 landmarks whose five alignment points sit at `five`. */
function scene(seed: number, five: Point2[]) {
  const random = seededRandom(seed);
  const width = 300;
  const height = 300;
  const data = new Uint8Array(width * height * 3);
  const waves = Array.from({ length: 6 }, () => [random() * 0.1, random() * 0.1, random() * 6]);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) {
        const [fx, fy, phase] = waves[(c * 2 + ((x + y) % 2)) % 6]!;
        data[(y * width + x) * 3 + c] = Math.round(127 + 100 * Math.sin(fx! * x + fy! * y + phase!));
      }
  const landmarks: Point2[] = Array.from({ length: 68 }, () => ({ x: 150, y: 150 }));
  for (let i = 36; i < 42; i++) landmarks[i] = five[0]!;
  for (let i = 42; i < 48; i++) landmarks[i] = five[1]!;
  landmarks[30] = five[2]!;
  landmarks[48] = five[3]!;
  landmarks[54] = five[4]!;
  return { image: { data, width, height }, landmarks };
}

/** The template placed in a photo: scaled by `scale`, turned by `angle` about the origin, moved by (dx, dy). */
function placed(scale: number, angle: number, dx: number, dy: number): Point2[] {
  return ARCFACE_TEMPLATE.map((p) => ({
    x: scale * (p.x * Math.cos(angle) - p.y * Math.sin(angle)) + dx,
    y: scale * (p.x * Math.sin(angle) + p.y * Math.cos(angle)) + dy,
  }));
}

describe('5-point alignment', () => {
  it('recovers a similarity transform and undoes it', () => {
    const five = placed(1.7, 0.4, 60, 40);
    const fit = fitSimilarity(five, ARCFACE_TEMPLATE);
    for (const [i, p] of five.entries()) {
      expect(fit.a * p.x - fit.b * p.y + fit.tx).toBeCloseTo(ARCFACE_TEMPLATE[i]!.x, 6);
      expect(fit.b * p.x + fit.a * p.y + fit.ty).toBeCloseTo(ARCFACE_TEMPLATE[i]!.y, 6);
    }
    // The chip of a face placed at scale 1 with no turn is the photo's own top-left 112x112 pixels.
    const { image } = scene(3, placed(1, 0, 0, 0));
    const chip = alignedChip(image, placed(1, 0, 0, 0));
    for (const [x, y] of [
      [0, 0],
      [50, 60],
      [111, 111],
    ])
      for (let c = 0; c < 3; c++)
        expect(chip[(y! * 112 + x!) * 3 + c]).toBeCloseTo(image.data[(y! * 300 + x!) * 3 + c]!, 4);
  });
});

describe('ONNX embedder', () => {
  it('embeds the aligned chip with the declared model: unit length, the same face the same embedding', async () => {
    const embedder = await OnnxEmbedder.load(model);
    const { image, landmarks } = scene(1, placed(1.5, 0.2, 80, 40));
    const first = await embedder.describe(image, landmarks);
    expect(first).toHaveLength(16);
    expect(Math.hypot(...first)).toBeCloseTo(1, 5);
    expect(Array.from(await embedder.describe(image, landmarks))).toEqual(Array.from(first));
    // Another photo, another embedding.
    const other = scene(2, placed(1.5, 0.2, 80, 40));
    const second = await embedder.describe(other.image, other.landmarks);
    expect(Math.hypot(...first.map((v, i) => v - second[i]!))).toBeGreaterThan(0.1);
  });

  it('refuses a model whose sha256 differs from the manifest, and a missing file', async () => {
    await expect(OnnxEmbedder.load({ ...model, sha256: '0'.repeat(64) })).rejects.toThrow(
      /does not match the manifest/,
    );
    await expect(OnnxEmbedder.load({ ...model, file: path.join(dir, 'missing.onnx') })).rejects.toThrow(
      /cannot be read/,
    );
  });
});

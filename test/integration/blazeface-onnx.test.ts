/**
 * BlazeFace's net runs on onnxruntime, converted at start-up from human's tfjs graph. The detector must find
 * what human's own tfjs detector finds on real photos (the face-api sample group photos, KYC-style portraits cut
 * from them, and those portraits on the pipeline's padded canvas): the same faces in the same order, boxes within
 * 1 px (boxes are whole pixels, so a float difference can move an edge by one) and scores within 0.01 (human
 * rounds them to two decimals). A conversion that does not match must never be used.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlazeFaceDetector } from '../../src/repositories/face-engine/blazeface-detector.js';
import type { DetectedFace, FaceEngine, RgbImage } from '../../src/repositories/face-engine/face-engine.repository.js';
import { packageDir } from '../../src/repositories/face-engine/model-manifest.js';
import { loadTensorflow } from '../../src/repositories/face-engine/tensorflow.js';
import { ImageRepository } from '../../src/repositories/image.repository.js';
import { ALL_SAMPLE_FACES, portrait } from '../../src/demo/sample-portraits.js';
import { onnxAndTensorflowEngines, rgbPixels } from '../helpers/face-engines.js';
import { samplePhoto } from '../helpers/photos.js';

let onnx: FaceEngine;
let tensorflow: FaceEngine;
let scratch: string;

beforeAll(async () => {
  ({ onnx, tensorflow } = await onnxAndTensorflowEngines());
  scratch = await mkdtemp(path.join(os.tmpdir(), 'simsift-blazeface-'));
}, 120_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const detect = (engine: FaceEngine, image: RgbImage): Promise<DetectedFace[]> =>
  engine.withImage(image, (img) => img.detectBlazeFace(0.2));

function expectSameFaces(actual: DetectedFace[], expected: DetectedFace[]): void {
  expect(actual.length).toBe(expected.length);
  for (const [i, face] of actual.entries()) {
    const want = expected[i]!;
    for (const key of ['x', 'y', 'width', 'height'] as const) {
      expect(Math.abs(face.box[key] - want.box[key])).toBeLessThanOrEqual(1);
    }
    expect(Math.abs(face.score - want.score)).toBeLessThanOrEqual(0.01);
    expect(face.detector).toBe('blazeface');
  }
}

describe('BlazeFace on onnxruntime', () => {
  it('runs on onnxruntime once its check against tfjs passes', () => {
    expect(onnx.netRuntimes.detector).toEqual({ runtime: 'onnxruntime' });
    expect(tensorflow.netRuntimes.detector.runtime).toBe('tensorflow');
  });

  it("finds human's faces in the face-api sample group photos", async () => {
    let faces = 0;
    for (const sample of [1, 2, 3, 4, 5, 6]) {
      const image = await rgbPixels(await samplePhoto(sample));
      const expected = await detect(tensorflow, image);
      expectSameFaces(await detect(onnx, image), expected);
      faces += expected.length;
    }
    expect(faces).toBeGreaterThanOrEqual(15);
  }, 120_000);

  it("finds human's face in KYC portraits, as decoded and on the padded canvas", async () => {
    const images = new ImageRepository(scratch, 100_000_000);
    for (const [sample, index] of ALL_SAMPLE_FACES) {
      const decoded = await images.decode(await portrait(sample, index, sample + index), 800);
      for (const image of [decoded.image, (await images.pad(decoded.image, 2)).image]) {
        const expected = await detect(tensorflow, image);
        expect(expected.length).toBeGreaterThanOrEqual(1);
        expectSameFaces(await detect(onnx, image), expected);
      }
    }
  }, 120_000);

  it('stays on tfjs, saying why, when the converted net does not match', async () => {
    const { tf } = await loadTensorflow({ allowCpu: false });
    const models = path.join(packageDir('@vladmandic/human'), 'models');
    // One weight off by 1%: the kind of drift a human release with a changed model would cause.
    const weights = Buffer.from(await readFile(path.join(models, 'blazeface.bin')));
    weights.writeFloatLE(weights.readFloatLE(4_000) * 1.01, 4_000);
    await copyFile(path.join(models, 'blazeface.json'), path.join(scratch, 'blazeface.json'));
    await writeFile(path.join(scratch, 'blazeface.bin'), weights);
    const human = (onnx as unknown as { detector: { models: { models: { blazeface: never } } } }).detector;
    const settings = { maxDetected: 20, minConfidence: 0.2, iouThreshold: 0.1, scale: 1, minSize: 0 };
    const drifted = await BlazeFaceDetector.create(tf, human.models.models.blazeface, scratch, settings);
    expect(drifted.detector).toBeNull();
    expect(drifted.runtime.runtime).toBe('tensorflow');
    expect(drifted.runtime.reason).toMatch(/differs from tfjs by/);
    const faithful = await BlazeFaceDetector.create(tf, human.models.models.blazeface, models, settings);
    expect(faithful.runtime).toEqual({ runtime: 'onnxruntime' });
  }, 60_000);
});

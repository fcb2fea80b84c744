/**
 * face_recognition's descriptor net runs on onnxruntime, converted from face-api's weights at start-up: its
 * descriptors must be tfjs's, within 1e-4 per component, on real faces; and a conversion that does not match
 * must never be used.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  convertedDescriptorNet,
  faceApiWeights,
  FaceEngine,
} from '../../src/repositories/face-engine/face-engine.repository.js';
import { loadTensorflow } from '../../src/repositories/face-engine/tensorflow.js';
import type { RgbImage } from '../../src/repositories/face-engine/face-engine.repository.js';
import { samplePhoto } from '../helpers/photos.js';

let onnx: FaceEngine;
let tensorflow: FaceEngine;

beforeAll(async () => {
  onnx = await FaceEngine.create({ embedder: 'face_recognition', allowCpuBackend: false });
  tensorflow = await FaceEngine.create({
    embedder: 'face_recognition',
    allowCpuBackend: false,
    descriptorRuntime: 'tensorflow',
  });
}, 120_000);

async function rgb(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Every face BlazeFace finds in the photo, described by `engine`. */
async function descriptors(engine: FaceEngine, image: RgbImage): Promise<Float32Array[]> {
  return engine.withImage(image, async (img) => {
    const out: Float32Array[] = [];
    for (const face of await img.detectBlazeFace(0.5)) {
      const descriptor = await img.describe(face, await img.landmarks(face));
      if (descriptor) out.push(descriptor);
    }
    return out;
  });
}

describe('face_recognition on onnxruntime', () => {
  it('runs on onnxruntime once its check against tfjs passes', () => {
    expect(onnx.descriptorRuntime).toEqual({ runtime: 'onnxruntime' });
    expect(tensorflow.descriptorRuntime?.runtime).toBe('tensorflow');
  });

  it("gives tfjs's descriptors within 1e-4 on the faces of real group photos", async () => {
    let compared = 0;
    for (const sample of [1, 2, 3]) {
      const image = await rgb(await samplePhoto(sample));
      const expected = await descriptors(tensorflow, image);
      const actual = await descriptors(onnx, image);
      expect(actual.length).toBe(expected.length);
      for (const [i, descriptor] of actual.entries()) {
        expect(descriptor.length).toBe(128);
        const difference = descriptor.reduce((max, v, j) => Math.max(max, Math.abs(v - expected[i]![j]!)), 0);
        expect(difference).toBeLessThan(1e-4);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('falls back to tfjs, saying why, when the converted net does not match', async () => {
    const { tf, faceapi } = await loadTensorflow({ allowCpu: false });
    const weights = faceApiWeights(faceapi);
    // One layer's scale off by 1%: the kind of drift a face-api release with a changed net would cause.
    const drifted = (name: string) => {
      const weight = weights(name);
      return name === 'conv128_1/conv2/scale/weights' ? { ...weight, data: weight.data.map((v) => v * 1.01) } : weight;
    };
    const checked = await convertedDescriptorNet(tf, faceapi, drifted);
    expect(checked.net).toBeNull();
    expect(checked.runtime.runtime).toBe('tensorflow');
    expect(checked.runtime.reason).toMatch(/differs from tfjs by/);
    expect((await convertedDescriptorNet(tf, faceapi, weights)).runtime).toEqual({ runtime: 'onnxruntime' });
  }, 60_000);
});

/**
 * face-api's landmark and descriptor nets run on onnxruntime, converted from face-api's weights at start-up.
 * Their results must be tfjs's on real faces (landmarks within 0.01 px, descriptors within 1e-4 per component),
 * and a conversion that does not match must never be used.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { convertFaceApiNets, faceApiWeights } from '../../src/repositories/face-engine/converted-nets.js';
import type { FaceEngine, Point, RgbImage } from '../../src/repositories/face-engine/face-engine.repository.js';
import { loadTensorflow } from '../../src/repositories/face-engine/tensorflow.js';
import { onnxAndTensorflowEngines, rgbPixels } from '../helpers/face-engines.js';
import { samplePhoto } from '../helpers/photos.js';

let onnx: FaceEngine;
let tensorflow: FaceEngine;

beforeAll(async () => {
  ({ onnx, tensorflow } = await onnxAndTensorflowEngines());
}, 120_000);

/** Landmarks and descriptor of every face BlazeFace finds in the photo, by `engine`'s nets. */
async function faces(engine: FaceEngine, image: RgbImage) {
  return engine.withImage(image, async (img) => {
    const out: { landmarks: Point[]; descriptor: Float32Array | null }[] = [];
    for (const face of await img.detectBlazeFace(0.5)) {
      const landmarks = await img.landmarks(face);
      out.push({ landmarks, descriptor: await img.describe(face, landmarks) });
    }
    return out;
  });
}

const largestDifference = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((max, v, i) => Math.max(max, Math.abs(v - b[i]!)), 0);

describe('face-api nets on onnxruntime', () => {
  it('run on onnxruntime once their check against tfjs passes', () => {
    expect(onnx.netRuntimes).toEqual({
      detector: { runtime: 'onnxruntime' },
      landmarks: { runtime: 'onnxruntime' },
      descriptor: { runtime: 'onnxruntime' },
    });
    expect(tensorflow.netRuntimes.landmarks.runtime).toBe('tensorflow');
    expect(tensorflow.netRuntimes.descriptor?.runtime).toBe('tensorflow');
  });

  it("give tfjs's landmarks and descriptors on the faces of real group photos", async () => {
    let compared = 0;
    for (const sample of [1, 2, 3]) {
      const image = await rgbPixels(await samplePhoto(sample));
      const expected = await faces(tensorflow, image);
      const actual = await faces(onnx, image);
      expect(actual.length).toBe(expected.length);
      for (const [i, face] of actual.entries()) {
        expect(face.landmarks).toHaveLength(68);
        const flat = (points: Point[]) => points.flatMap((p) => [p.x, p.y]);
        expect(largestDifference(flat(face.landmarks), flat(expected[i]!.landmarks))).toBeLessThan(0.01);
        expect(face.descriptor).toHaveLength(128);
        expect(largestDifference(face.descriptor!, expected[i]!.descriptor!)).toBeLessThan(1e-4);
        compared++;
      }
    }
    expect(compared).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('stay on tfjs, saying why, when a converted net does not match', async () => {
    const { tf, faceapi } = await loadTensorflow({ allowCpu: false });
    const weights = faceApiWeights(faceapi);
    // One layer off by 1%: the kind of drift a face-api release with a changed net would cause.
    const drifted =
      (read: typeof weights.descriptor, layer: string): typeof weights.descriptor =>
      (name) => {
        const weight = read(name);
        return name === layer ? { ...weight, data: weight.data.map((v) => v * 1.01) } : weight;
      };
    const checked = await convertFaceApiNets(tf, faceapi, {
      descriptor: true,
      weights: {
        descriptor: drifted(weights.descriptor, 'conv128_1/conv2/scale/weights'),
        landmarkExtractor: drifted(weights.landmarkExtractor, 'dense2/conv1/pointwise_filter'),
        landmarkClassifier: weights.landmarkClassifier,
      },
    });
    for (const net of [checked.landmarks, checked.descriptor!]) {
      expect(net.session).toBeNull();
      expect(net.runtime.runtime).toBe('tensorflow');
      expect(net.runtime.reason).toMatch(/differs from tfjs by/);
    }
    const faithful = await convertFaceApiNets(tf, faceapi, { descriptor: true, weights });
    expect([faithful.landmarks.runtime, faithful.descriptor?.runtime]).toEqual([
      { runtime: 'onnxruntime' },
      { runtime: 'onnxruntime' },
    ]);
  }, 60_000);
});

import { writeOnnxModel } from '../../src/repositories/face-engine/onnx-writer.js';
import { seededRandom } from '../../src/eval/seeded-random.js';

/**
 * A small ONNX model, so the ONNX embedder is tested without shipping or downloading weights:
 * input [1, 3, 112, 112] -> Flatten -> MatMul with seeded random weights -> embedding [1, `dims`].
 * A random projection of the pixels: the same chip gives the same embedding.
 */
export function randomProjectionModel(dims = 16, seed = 1): Buffer {
  const inputs = 3 * 112 * 112;
  const random = seededRandom(seed);
  const weights = new Float32Array(inputs * dims).map(() => random() - 0.5);
  return writeOnnxModel({
    name: 'random-projection',
    nodes: [
      { op: 'Flatten', inputs: ['input'], output: 'flat' },
      { op: 'MatMul', inputs: ['flat', 'weights'], output: 'embedding' },
    ],
    initializers: [{ name: 'weights', dims: [inputs, dims], data: weights }],
    inputs: [{ name: 'input', shape: [1, 3, 112, 112] }],
    outputs: [{ name: 'embedding', shape: [1, dims] }],
    opset: 13,
  });
}

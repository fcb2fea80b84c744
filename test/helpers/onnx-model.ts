import { seededRandom } from '../../src/services/seeded-random.js';

/**
 * A small ONNX model written byte by byte (protobuf wire format), so the ONNX embedder is tested without
 * shipping or downloading weights: input [1, 3, 112, 112] -> Flatten -> MatMul with seeded random weights ->
 * embedding [1, `dims`]. A random projection of the pixels: the same chip gives the same embedding.
 */
export function randomProjectionModel(dims = 16, seed = 1): Buffer {
  const inputs = 3 * 112 * 112;
  const random = seededRandom(seed);
  const weights = new Float32Array(inputs * dims).map(() => random() - 0.5);

  const varint = (value: number): number[] => {
    const out: number[] = [];
    let v = value;
    while (v > 127) {
      out.push((v & 127) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const field = (number: number, wireType: number) => varint((number << 3) | wireType);
  const int = (number: number, value: number) => Buffer.from([...field(number, 0), ...varint(value)]);
  const bytes = (number: number, content: Buffer) =>
    Buffer.concat([Buffer.from([...field(number, 2), ...varint(content.length)]), content]);
  const text = (number: number, value: string) => bytes(number, Buffer.from(value, 'utf8'));

  const dim = (value: number) => bytes(1, int(1, value));
  const tensorType = (shape: number[]) =>
    bytes(2, bytes(1, Buffer.concat([int(1, 1), bytes(2, Buffer.concat(shape.map(dim)))])));
  const valueInfo = (name: string, shape: number[]) => Buffer.concat([text(1, name), tensorType(shape)]);
  const node = (inputsOf: string[], output: string, op: string) =>
    Buffer.concat([...inputsOf.map((name) => text(1, name)), text(2, output), text(3, op), text(4, op)]);
  const initializer = Buffer.concat([
    int(1, inputs),
    int(1, dims),
    int(2, 1),
    text(8, 'weights'),
    bytes(9, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength)),
  ]);
  const graph = Buffer.concat([
    bytes(1, node(['input'], 'flat', 'Flatten')),
    bytes(1, node(['flat', 'weights'], 'embedding', 'MatMul')),
    text(2, 'random-projection'),
    bytes(5, initializer),
    bytes(11, valueInfo('input', [1, 3, 112, 112])),
    bytes(12, valueInfo('embedding', [1, dims])),
  ]);
  return Buffer.concat([
    int(1, 8),
    text(2, 'simsift-test'),
    bytes(7, graph),
    bytes(8, Buffer.concat([text(1, ''), int(2, 13)])),
  ]);
}

/**
 * Just enough of the ONNX format (protobuf wire format, onnx.proto3) to write a model in memory: nodes with
 * integer attributes, float32 and int64 initializers, and inputs and outputs with fixed or named dimensions.
 * Used to run face-api's descriptor net on onnxruntime (face-recognition-onnx.ts) and to build small models in
 * tests. There is no ONNX writer on npm that does not pull in protobufjs code generation for this much.
 */

function varint(value: number | bigint): number[] {
  let rest = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (rest > 127n) {
    out.push(Number(rest & 127n) | 128);
    rest >>= 7n;
  }
  out.push(Number(rest));
  return out;
}

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const key = (field: number, wireType: number) => varint((field << 3) | wireType);
const int = (field: number, value: number | bigint) => Buffer.from([...key(field, VARINT), ...varint(value)]);
const bytes = (field: number, content: Buffer) =>
  Buffer.concat([Buffer.from([...key(field, LENGTH_DELIMITED), ...varint(content.length)]), content]);
const text = (field: number, value: string) => bytes(field, Buffer.from(value, 'utf8'));

// Enum values from onnx.proto.
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_INTS = 7;
const TENSOR_FLOAT = 1;
const TENSOR_INT64 = 7;
const IR_VERSION = 8;

/** A node attribute: one integer or a list of integers (all the ops used here need). */
export interface OnnxAttribute {
  name: string;
  value: number | readonly number[];
}

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  output: string;
  attributes?: readonly OnnxAttribute[];
}

export interface OnnxInitializer {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

/** A graph input or output; a string dimension is symbolic (for example the batch size). */
export interface OnnxValue {
  name: string;
  shape: readonly (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxInitializer[];
  inputs: readonly OnnxValue[];
  outputs: readonly OnnxValue[];
  /** Default-domain opset the nodes are written against. */
  opset: number;
}

function attribute({ name, value }: OnnxAttribute): Buffer {
  return typeof value === 'number'
    ? Buffer.concat([text(1, name), int(3, value), int(20, ATTRIBUTE_INT)])
    : Buffer.concat([text(1, name), ...value.map((v) => int(8, v)), int(20, ATTRIBUTE_INTS)]);
}

function node({ op, inputs, output, attributes = [] }: OnnxNode): Buffer {
  return Buffer.concat([
    ...inputs.map((input) => text(1, input)),
    text(2, output),
    text(3, output),
    text(4, op),
    ...attributes.map((a) => bytes(5, attribute(a))),
  ]);
}

function initializer({ name, dims, data }: OnnxInitializer): Buffer {
  return Buffer.concat([
    ...dims.map((d) => int(1, d)),
    int(2, data instanceof Float32Array ? TENSOR_FLOAT : TENSOR_INT64),
    text(8, name),
    bytes(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
  ]);
}

function value({ name, shape }: OnnxValue): Buffer {
  const dimension = (d: number | string) => bytes(1, typeof d === 'number' ? int(1, d) : text(2, d));
  const tensorType = Buffer.concat([int(1, TENSOR_FLOAT), bytes(2, Buffer.concat(shape.map(dimension)))]);
  return Buffer.concat([text(1, name), bytes(2, bytes(1, tensorType))]);
}

/** The serialised ModelProto, ready for `InferenceSession.create`. Graph inputs and outputs are float32. */
export function writeOnnxModel(graph: OnnxGraph): Buffer {
  const body = Buffer.concat([
    ...graph.nodes.map((n) => bytes(1, node(n))),
    text(2, graph.name),
    ...graph.initializers.map((t) => bytes(5, initializer(t))),
    ...graph.inputs.map((v) => bytes(11, value(v))),
    ...graph.outputs.map((v) => bytes(12, value(v))),
  ]);
  return Buffer.concat([
    int(1, IR_VERSION),
    text(2, 'simsift'),
    bytes(7, body),
    bytes(8, Buffer.concat([text(1, ''), int(2, graph.opset)])),
  ]);
}

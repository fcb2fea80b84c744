import { depthwiseOihw, GraphBuilder, oihw, samePads, type TfWeight } from './onnx-graph.js';

/** The parts of a tfjs graph model (model.json) the converter reads. */
export interface TfGraphModelJson {
  modelTopology: { node: TfGraphNode[] };
  weightsManifest: { paths: string[]; weights: TfWeightSpec[] }[];
}

interface TfAttribute {
  s?: string;
  i?: string;
  list?: { i?: string[]; s?: string[] };
  shape?: { dim?: { size: string }[] };
}

interface TfGraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttribute>;
}

interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** BlazeFace (human's blazeface.json, MediaPipe's short-range front model) looks at 256x256 RGB scaled to -1..1. */
export const BLAZEFACE_INPUT_SIZE = 256;
/** Its 896 anchors (16x16x2 at stride 16, then 8x8x6 at stride 32), each a logit then 16 box and keypoint values. */
export const BLAZEFACE_ANCHORS = 896;
export const BLAZEFACE_VALUES = 17;

/** A graph's weights by name: float32 as they are, int32 (shapes, paddings) as numbers. */
export function readGraphWeights(json: TfGraphModelJson, shards: Buffer): Map<string, TfWeight> {
  const weights = new Map<string, TfWeight>();
  let offset = 0;
  for (const spec of json.weightsManifest.flatMap((group) => group.weights)) {
    if (spec.quantization) throw new Error(`weight ${spec.name} is quantised; the converter reads float32 and int32`);
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32') throw new Error(`weight ${spec.name} is ${spec.dtype}`);
    const length = spec.shape.reduce((product, d) => product * d, 1);
    const bytes = shards.subarray(offset, offset + length * 4);
    offset += length * 4;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = Float32Array.from({ length }, (_, i) =>
      spec.dtype === 'float32' ? view.getFloat32(i * 4, true) : view.getInt32(i * 4, true),
    );
    weights.set(spec.name, { shape: spec.shape, data });
  }
  if (offset !== shards.length) throw new Error(`the weights take ${offset} bytes of ${shards.length}`);
  return weights;
}

const text = (attribute: TfAttribute | undefined) => Buffer.from(attribute?.s ?? '', 'base64').toString('utf8');
const numbers = (attribute: TfAttribute | undefined) => (attribute?.list?.i ?? []).map(Number);

/**
 * BlazeFace as an ONNX model, translated node by node from human's tfjs graph (blazeface.json): _FusedConv2D
 * (bias, optional relu), DepthwiseConv2dNative, AddV2, Relu, MaxPool, Pad, and the Reshapes of the four heads.
 * Any other op, or another shape of graph, throws: the engine then keeps human's own tfjs model.
 *
 * Input `image`: [1, 256, 256, 3] NHWC, already scaled to -1..1 as human does. Output `detections`: [1, 896, 17],
 * the heads concatenated as human's blazeface.getBoxes does for this model (sorted by size, classifier and
 * regressor of each grid side by side, the 16x16 grid first).
 */
export function blazeFaceOnnx(json: TfGraphModelJson, weights: Map<string, TfWeight>): Buffer {
  const graph = new GraphBuilder();
  const nodes = new Map(json.modelTopology.node.map((node) => [node.name, node]));
  const weight = (name: string) => {
    const found = weights.get(name);
    if (!found) throw new Error(`blazeface: no weight ${name}`);
    return found;
  };
  // Every 4-d tensor is NCHW in the ONNX graph; `size` is its side (the input is square, so every map is).
  const converted = new Map<string, { name: string; size: number; heads?: number[] }>();

  const convert = (tfName: string): { name: string; size: number; heads?: number[] } => {
    const done = converted.get(tfName);
    if (done) return done;
    const node = nodes.get(tfName);
    if (!node) throw new Error(`blazeface: no node ${tfName}`);
    const inputs = node.input ?? [];
    const attr = node.attr ?? {};
    const first = () => convert(inputs[0]!);
    let result: { name: string; size: number; heads?: number[] };
    switch (node.op) {
      case 'Placeholder': {
        const dims = (attr.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.join() !== [1, BLAZEFACE_INPUT_SIZE, BLAZEFACE_INPUT_SIZE, 3].join()) {
          throw new Error(`blazeface: input shape ${dims.join('x')}`);
        }
        result = { name: graph.channelsFirst('image'), size: BLAZEFACE_INPUT_SIZE };
        break;
      }
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative': {
        const input = first();
        const filters = weight(inputs[1]!);
        const stride = numbers(attr.strides)[1] ?? 1;
        const [kh, kw, channels, multiplier] = filters.shape as [number, number, number, number];
        const pads = text(attr.padding) === 'SAME' ? samePads(input.size, kh, stride) : [0, 0, 0, 0];
        const size =
          text(attr.padding) === 'SAME' ? Math.ceil(input.size / stride) : Math.floor((input.size - kh) / stride) + 1;
        const fused = (attr.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
        let name: string;
        if (node.op === 'DepthwiseConv2dNative') {
          if (multiplier !== 1) throw new Error(`blazeface: depthwise multiplier ${multiplier}`);
          name = graph.conv(
            input.name,
            tfName,
            { dims: [channels, 1, kh, kw], data: depthwiseOihw(filters), bias: new Float32Array(channels) },
            { stride, pads, group: channels },
          );
        } else {
          if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] && fused[1] !== 'Relu')) {
            throw new Error(`blazeface: fused ops ${fused.join(',')}`);
          }
          name = graph.conv(
            input.name,
            tfName,
            { dims: [multiplier, channels, kh, kw], data: oihw(filters), bias: weight(inputs[2]!).data },
            { stride, pads },
          );
          if (fused[1] === 'Relu') name = graph.add('Relu', [name]);
        }
        result = { name, size };
        break;
      }
      case 'AddV2':
        result = { name: graph.add('Add', [first().name, convert(inputs[1]!).name]), size: first().size };
        break;
      case 'Relu':
        result = { name: graph.add('Relu', [first().name]), size: first().size };
        break;
      case 'MaxPool': {
        const input = first();
        const [, kernel] = numbers(attr.ksize);
        const [, stride] = numbers(attr.strides);
        const same = text(attr.padding) === 'SAME';
        result = {
          name: graph.add(
            'MaxPool',
            [input.name],
            [
              { name: 'kernel_shape', value: [kernel!, kernel!] },
              { name: 'strides', value: [stride!, stride!] },
              { name: 'pads', value: same ? samePads(input.size, kernel!, stride!) : [0, 0, 0, 0] },
            ],
          ),
          size: same ? Math.ceil(input.size / stride!) : Math.floor((input.size - kernel!) / stride!) + 1,
        };
        break;
      }
      case 'Pad': {
        // tfjs paddings [[n0, n1], [h0, h1], [w0, w1], [c0, c1]] -> ONNX begins then ends, in NCHW order.
        const p = Array.from(weight(inputs[1]!).data);
        const input = first();
        result = {
          name: graph.pad(input.name, `${tfName}/pads`, [p[0]!, p[6]!, p[2]!, p[4]!, p[1]!, p[7]!, p[3]!, p[5]!]),
          size: input.size + p[2]! + p[3]!,
        };
        break;
      }
      case 'Reshape': {
        // The heads: back to NHWC so the values come in tfjs's order, then tfjs's shape.
        const shape = Array.from(weight(inputs[1]!).data);
        const nhwc = graph.add('Transpose', [first().name], [{ name: 'perm', value: [0, 2, 3, 1] }]);
        const name = graph.add('Reshape', [
          nhwc,
          graph.constant(`${tfName}/shape`, [shape.length], BigInt64Array.from(shape, BigInt)),
        ]);
        result = { name, size: 0, heads: shape };
        break;
      }
      case 'Identity':
        result = first();
        break;
      default:
        throw new Error(`blazeface: unsupported op ${node.op} (${tfName})`);
    }
    converted.set(tfName, result);
    return result;
  };

  const consumed = new Set(json.modelTopology.node.flatMap((node) => node.input ?? []));
  const heads = json.modelTopology.node
    .filter((node) => node.op !== 'Const' && !consumed.has(node.name))
    .map((node) => convert(node.name));
  const elements = (shape: number[] | undefined) => (shape ?? []).reduce((product, d) => product * d, 1);
  // human: sorted by size, [0] and [2] (classifier and regressor of the coarse grid), [1] and [3] (the fine grid).
  const sorted = [...heads].sort((a, b) => elements(a.heads) - elements(b.heads));
  const shapes = sorted.map((head) => head.heads?.join('x')).join(' ');
  if (shapes !== '1x384x1 1x512x1 1x384x16 1x512x16') throw new Error(`blazeface: heads ${shapes}`);
  const axis = (value: number) => [{ name: 'axis', value }];
  const coarse = graph.add('Concat', [sorted[0]!.name, sorted[2]!.name], axis(2));
  const fine = graph.add('Concat', [sorted[1]!.name, sorted[3]!.name], axis(2));
  graph.add('Concat', [fine, coarse], axis(1));
  graph.nameOutput('detections');
  return graph.model(
    'blazeface',
    { name: 'image', shape: [1, BLAZEFACE_INPUT_SIZE, BLAZEFACE_INPUT_SIZE, 3] },
    { name: 'detections', shape: [1, BLAZEFACE_ANCHORS, BLAZEFACE_VALUES] },
  );
}

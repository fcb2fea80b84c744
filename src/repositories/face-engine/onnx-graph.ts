import {
  writeOnnxModel,
  type OnnxAttribute,
  type OnnxInitializer,
  type OnnxNode,
  type OnnxValue,
} from './onnx-writer.js';

/** A weight of a converted net by its name, shape as tfjs has it (filters HWIO). */
export interface TfWeight {
  shape: readonly number[];
  data: Float32Array;
}

const OPSET = 13;

/**
 * tfjs 'same' padding as ONNX pads (top, left, bottom, right): TensorFlow puts the odd pixel at the end, so a
 * stride-2 3x3 conv on 112 pixels pads 0 before and 1 after.
 */
export function samePads(size: number, kernel: number, stride: number): number[] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, before, total - before, total - before];
}

/** tfjs HWIO filters -> ONNX OIHW, each output channel multiplied by `scale` (1 when absent). */
export function oihw(filters: TfWeight, scale?: Float32Array): Float32Array {
  const [kh, kw, inputs, outputs] = filters.shape as [number, number, number, number];
  const out = new Float32Array(outputs * inputs * kh * kw);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < inputs; i++) {
        for (let o = 0; o < outputs; o++) {
          out[((o * inputs + i) * kh + y) * kw + x] =
            filters.data[((y * kw + x) * inputs + i) * outputs + o]! * (scale ? scale[o]! : 1);
        }
      }
    }
  }
  return out;
}

/** tfjs depthwise filters H W C 1 -> ONNX C 1 H W, for a Conv with one group per channel. */
export function depthwiseOihw(filters: TfWeight): Float32Array {
  const [kh, kw, channels] = filters.shape as [number, number, number];
  const out = new Float32Array(channels * kh * kw);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let c = 0; c < channels; c++) out[(c * kh + y) * kw + x] = filters.data[(y * kw + x) * channels + c]!;
    }
  }
  return out;
}

/** Nodes and weights of one graph under construction; each node's output is named after its op and a counter. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxInitializer[] = [];
  private counter = 0;

  add(op: string, inputs: string[], attributes?: readonly OnnxAttribute[]): string {
    const output = `${op.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ op, inputs, output, attributes });
    return output;
  }

  constant(name: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    this.initializers.push({ name, dims, data });
    return name;
  }

  conv(
    input: string,
    name: string,
    weights: { dims: readonly number[]; data: Float32Array; bias: Float32Array },
    options: { stride: number; pads: readonly number[]; group?: number },
  ): string {
    const [, , kh, kw] = weights.dims;
    return this.add(
      'Conv',
      [
        input,
        this.constant(`${name}/w`, weights.dims, weights.data),
        this.constant(`${name}/b`, [weights.dims[0]!], weights.bias),
      ],
      [
        { name: 'kernel_shape', value: [kh!, kw!] },
        { name: 'strides', value: [options.stride, options.stride] },
        { name: 'pads', value: options.pads },
        ...(options.group ? [{ name: 'group', value: options.group }] : []),
      ],
    );
  }

  pad(input: string, name: string, pads: readonly number[]): string {
    return this.add('Pad', [input, this.constant(name, [pads.length], BigInt64Array.from(pads, BigInt))]);
  }

  /** NHWC -> NCHW, as tfjs's layout feeds ONNX's convolutions. */
  channelsFirst(input: string): string {
    return this.add('Transpose', [input], [{ name: 'perm', value: [0, 3, 1, 2] }]);
  }

  /** The graph's last node writes `output`: renames it so the model's output has that name. */
  nameOutput(output: string): void {
    const last = this.nodes.at(-1)!;
    this.nodes[this.nodes.length - 1] = { ...last, output };
  }

  model(name: string, input: OnnxValue, output: OnnxValue): Buffer {
    return writeOnnxModel({
      name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: [input],
      outputs: [output],
      opset: OPSET,
    });
  }
}

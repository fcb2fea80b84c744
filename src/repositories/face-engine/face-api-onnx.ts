import { depthwiseOihw, GraphBuilder, oihw, samePads, type TfWeight } from './onnx-graph.js';

/** A weight of a face-api net by its path (e.g. `conv32_1/conv1/conv/filters`), shape as tfjs has it. */
export type WeightReader = (path: string) => TfWeight;

/** face-api's descriptor net takes 150x150 chips, its landmark net 112x112. */
export const DESCRIPTOR_CHIP_SIZE = 150;
export const LANDMARK_CHIP_SIZE = 112;
/** Both nets subtract this mean (RGB) and divide by 255. */
const MEAN_RGB = [122.782, 117.001, 104.298];

const RESIDUAL_STAGES: readonly { down: string | null; blocks: readonly string[] }[] = [
  { down: null, blocks: ['conv32_1', 'conv32_2', 'conv32_3'] },
  { down: 'conv64_down', blocks: ['conv64_1', 'conv64_2', 'conv64_3'] },
  { down: 'conv128_down', blocks: ['conv128_1', 'conv128_2'] },
  { down: 'conv256_down', blocks: ['conv256_1', 'conv256_2'] },
  { down: 'conv256_down_out', blocks: [] },
];

const validOutput = (size: number, kernel: number, stride: number) => Math.floor((size - kernel) / stride) + 1;

/** face-api's input normalisation on an NHWC batch named `chip`, returned as NCHW. */
function normalisedInput(graph: GraphBuilder): string {
  const centred = graph.add('Sub', ['chip', graph.constant('mean_rgb', [1, 1, 1, 3], Float32Array.from(MEAN_RGB))]);
  return graph.channelsFirst(graph.add('Div', [centred, graph.constant('255', [], Float32Array.from([255]))]));
}

/** A face-api net's model: NHWC chips in, one row of `outputLength` values per chip out. */
function chipModel(graph: GraphBuilder, name: string, chipSize: number, output: string, outputLength: number): Buffer {
  return graph.model(
    name,
    { name: 'chip', shape: ['batch', chipSize, chipSize, 3] },
    { name: output, shape: ['batch', outputLength] },
  );
}

/**
 * face-api's descriptor net (the dlib ResNet-34 face descriptor) as an ONNX model, built from its loaded
 * weights, layer for layer as FaceRecognitionNet.forwardInput computes it. onnxruntime runs it about 7x faster
 * than tfjs-wasm on one core (a face and its mirror: 8.7 ms against 62 ms), with outputs equal within 1e-6.
 *
 * Input `chip`: [batch, 150, 150, 3] RGB 0-255 (face-api's batch tensor); output `descriptor`: [batch, 128].
 * Each conv, its bias and the scale layer after it fold into one Conv: ((x * W + b) * s + t) = x * (W s) + (b s + t).
 */
export function faceRecognitionOnnx(weight: WeightReader): Buffer {
  const graph = new GraphBuilder();

  /** conv + bias + scale (+ relu); tfjs 'same' padding for stride 1, 'valid' for the down-sampling convs. */
  const convLayer = (input: string, path: string, stride: number, relu: boolean) => {
    const filters = weight(`${path}/conv/filters`);
    const [kh, kw, inputs, outputs] = filters.shape as [number, number, number, number];
    const bias = weight(`${path}/conv/bias`).data;
    const scale = weight(`${path}/scale/weights`).data;
    const shift = weight(`${path}/scale/biases`).data;
    const pad = stride === 1 ? (kh - 1) / 2 : 0;
    const conv = graph.conv(
      input,
      path,
      {
        dims: [outputs, inputs, kh, kw],
        data: oihw(filters, scale),
        bias: Float32Array.from({ length: outputs }, (_, o) => bias[o]! * scale[o]! + shift[o]!),
      },
      { stride, pads: [pad, pad, pad, pad] },
    );
    return { output: relu ? graph.add('Relu', [conv]) : conv, channels: outputs, kernel: kh };
  };

  const stem = convLayer(normalisedInput(graph), 'conv32_down', 2, true);
  let size = validOutput(DESCRIPTOR_CHIP_SIZE, stem.kernel, 2);
  let channels = stem.channels;
  let x = graph.add(
    'MaxPool',
    [stem.output],
    [
      { name: 'kernel_shape', value: [3, 3] },
      { name: 'strides', value: [2, 2] },
    ],
  );
  size = validOutput(size, 3, 2);

  for (const stage of RESIDUAL_STAGES) {
    if (stage.down) {
      // residualDown: a strided conv path plus a 2x2 average-pooled shortcut. tfjs pads the conv path with a
      // zero row and column when the two differ in size, and the shortcut with zero channels.
      const first = convLayer(x, `${stage.down}/conv1`, 2, true);
      let path = convLayer(first.output, `${stage.down}/conv2`, 1, false).output;
      const convSize = validOutput(size, 3, 2);
      const pooledSize = validOutput(size, 2, 2);
      let shortcut = graph.add(
        'AveragePool',
        [x],
        [
          { name: 'kernel_shape', value: [2, 2] },
          { name: 'strides', value: [2, 2] },
        ],
      );
      if (convSize !== pooledSize) {
        const extra = pooledSize - convSize;
        path = graph.pad(path, `${stage.down}/pad_hw`, [0, 0, 0, 0, 0, 0, extra, extra]);
      }
      if (first.channels !== channels) {
        shortcut = graph.pad(shortcut, `${stage.down}/pad_c`, [0, 0, 0, 0, 0, first.channels - channels, 0, 0]);
      }
      x = graph.add('Relu', [graph.add('Add', [shortcut, path])]);
      size = pooledSize;
      channels = first.channels;
    }
    for (const block of stage.blocks) {
      const first = convLayer(x, `${block}/conv1`, 1, true);
      const second = convLayer(first.output, `${block}/conv2`, 1, false);
      x = graph.add('Relu', [graph.add('Add', [second.output, x])]);
    }
  }
  const pooled = graph.add('Flatten', [graph.add('GlobalAveragePool', [x])]);
  const fc = weight('fc');
  graph.nodes.push({ op: 'MatMul', inputs: [pooled, graph.constant('fc', fc.shape, fc.data)], output: 'descriptor' });
  return chipModel(graph, 'face_recognition', DESCRIPTOR_CHIP_SIZE, 'descriptor', fc.shape[1]!);
}

/**
 * face-api's 68-point landmark net as an ONNX model, as FaceLandmark68Net.runNet computes it: four dense blocks
 * of depthwise-separable convs, a 7x7 average pool, and a fully connected layer. The output is face-api's raw
 * one (136 values, x and y interleaved, relative to the padded square chip); its postProcess maps it to the face.
 *
 * `extractor` reads the feature extractor's weights (dense0..dense3), `classifier` the fully connected layer's.
 */
export function faceLandmarksOnnx(extractor: WeightReader, classifier: WeightReader): Buffer {
  const graph = new GraphBuilder();
  let size = LANDMARK_CHIP_SIZE;

  /** tfjs separableConv2d + bias: a depthwise conv ('same', strided) then a 1x1 conv that carries the bias. */
  const separable = (input: string, path: string, stride: number) => {
    const depthwise = extractor(`${path}/depthwise_filter`);
    const pointwise = extractor(`${path}/pointwise_filter`);
    const [kh, kw, channels] = depthwise.shape as [number, number, number];
    const outputs = pointwise.shape[3]!;
    const spatial = graph.conv(
      input,
      `${path}/depthwise`,
      { dims: [channels, 1, kh, kw], data: depthwiseOihw(depthwise), bias: new Float32Array(channels) },
      { stride, pads: samePads(size, kh, stride), group: channels },
    );
    return graph.conv(
      spatial,
      `${path}/pointwise`,
      { dims: [outputs, channels, 1, 1], data: oihw(pointwise), bias: extractor(`${path}/bias`).data },
      { stride: 1, pads: [0, 0, 0, 0] },
    );
  };

  /** face-api's denseBlock4: each conv's input is the relu of the sum of all earlier outputs in the block. */
  const denseBlock = (input: string, block: string, first: boolean) => {
    let firstOutput: string;
    if (first) {
      const filters = extractor(`${block}/conv0/filters`);
      firstOutput = graph.conv(
        input,
        `${block}/conv0`,
        {
          dims: [filters.shape[3]!, filters.shape[2]!, filters.shape[0]!, filters.shape[1]!],
          data: oihw(filters),
          bias: extractor(`${block}/conv0/bias`).data,
        },
        { stride: 2, pads: samePads(size, filters.shape[0]!, 2) },
      );
    } else {
      firstOutput = separable(input, `${block}/conv0`, 2);
    }
    size = Math.ceil(size / 2);
    const out1 = graph.add('Relu', [firstOutput]);
    const outputs = [out1];
    let sum = out1;
    for (const conv of ['conv1', 'conv2', 'conv3']) {
      const next = separable(outputs.length === 1 ? out1 : graph.add('Relu', [sum]), `${block}/${conv}`, 1);
      outputs.push(next);
      // tfjs adds right to left (out1 + (out2 + (out3 + out4))); float sums in another order differ by ~1e-7.
      sum = outputs.slice(0, -1).reduceRight((acc, term) => graph.add('Add', [term, acc]), next);
    }
    return graph.add('Relu', [sum]);
  };

  let x = normalisedInput(graph);
  for (const [i, block] of ['dense0', 'dense1', 'dense2', 'dense3'].entries()) x = denseBlock(x, block, i === 0);
  const pooled = graph.add('Flatten', [
    graph.add(
      'AveragePool',
      [x],
      [
        { name: 'kernel_shape', value: [7, 7] },
        { name: 'strides', value: [2, 2] },
      ],
    ),
  ]);
  const fc = classifier('fc/weights');
  const product = graph.add('MatMul', [pooled, graph.constant('fc/weights', fc.shape, fc.data)]);
  graph.nodes.push({
    op: 'Add',
    inputs: [product, graph.constant('fc/bias', [fc.shape[1]!], classifier('fc/bias').data)],
    output: 'landmarks',
  });
  return chipModel(graph, 'face_landmark_68', LANDMARK_CHIP_SIZE, 'landmarks', fc.shape[1]!);
}

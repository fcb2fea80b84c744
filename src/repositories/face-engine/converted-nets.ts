import type * as Tf from '@tensorflow/tfjs';
import {
  DESCRIPTOR_CHIP_SIZE,
  faceLandmarksOnnx,
  faceRecognitionOnnx,
  LANDMARK_CHIP_SIZE,
  type WeightReader,
} from './face-api-onnx.js';
import { OnnxSession } from './onnx-runtime.js';
import type { FaceApiModule, TfModule } from './tensorflow.js';

type NetInput = Awaited<ReturnType<FaceApiModule['toNetInput']>>;

/** Where one of face-api's nets runs, and why when it is not onnxruntime. */
export interface NetRuntime {
  runtime: 'onnxruntime' | 'tensorflow';
  reason?: string;
}

/** A face-api net converted to ONNX, checked, and ready to run; or tfjs, with the reason. */
export interface ConvertedNet {
  session: OnnxSession | null;
  runtime: NetRuntime;
  chipSize: number;
}

/** A converted net must give tfjs's raw outputs within this (absolute, per component) to be used. */
export const CONVERSION_TOLERANCE = 1e-4;

/** The loaded weights of face-api's landmark and descriptor nets. */
export interface FaceApiWeights {
  descriptor: WeightReader;
  landmarkExtractor: WeightReader;
  landmarkClassifier: WeightReader;
}

export function faceApiWeights(faceapi: FaceApiModule): FaceApiWeights {
  const reader =
    (net: { getParamFromPath(path: string): Tf.Tensor }): WeightReader =>
    (name) => {
      const tensor = net.getParamFromPath(name);
      return { shape: tensor.shape, data: Float32Array.from(tensor.dataSync()) };
    };
  const landmarks = faceapi.nets.faceLandmark68Net;
  return {
    descriptor: reader(faceapi.nets.faceRecognitionNet as never),
    landmarkExtractor: reader(landmarks.faceFeatureExtractor as never),
    landmarkClassifier: reader(landmarks as never),
  };
}

/** face-api's batch of chips (resized and padded by face-api, as its nets do) through a converted net. */
export async function runConverted(tf: TfModule, net: ConvertedNet, chips: NetInput): Promise<Float32Array> {
  const batch = tf.cast(chips.toBatchTensor(net.chipSize, true) as unknown as Tf.Tensor, 'float32');
  return net.session!.run((await batch.data()) as Float32Array, batch.shape);
}

/**
 * Converts face-api's landmark net and, when it is the embedder, its descriptor net to ONNX, and checks each on a
 * fixed batch against tfjs. onnxruntime runs them several times faster than tfjs-wasm on one core (descriptor
 * of a face and its mirror 8.7 ms against 62 ms). A net stays on tfjs when the runtime cannot load (a platform
 * without its binaries) or its outputs differ (a face-api release whose net the converter does not know).
 */
export async function convertFaceApiNets(
  tf: TfModule,
  faceapi: FaceApiModule,
  options: { descriptor: boolean; weights?: FaceApiWeights },
): Promise<{ landmarks: ConvertedNet; descriptor: ConvertedNet | null }> {
  const weights = options.weights ?? faceApiWeights(faceapi);
  const landmarks = await checkedNet(
    tf,
    faceapi,
    () => faceLandmarksOnnx(weights.landmarkExtractor, weights.landmarkClassifier),
    LANDMARK_CHIP_SIZE,
    (chips) => faceapi.nets.faceLandmark68Net.runNet(chips),
  );
  const descriptor = options.descriptor
    ? await checkedNet(
        tf,
        faceapi,
        () => faceRecognitionOnnx(weights.descriptor),
        DESCRIPTOR_CHIP_SIZE,
        (chips) => faceapi.nets.faceRecognitionNet.forwardInput(chips),
      )
    : null;
  return { landmarks, descriptor };
}

/** Nets left on tfjs (for comparison with the converted ones). */
export function tensorflowNets(descriptor: boolean): { landmarks: ConvertedNet; descriptor: ConvertedNet | null } {
  const onTensorflow = (chipSize: number): ConvertedNet => ({
    session: null,
    runtime: { runtime: 'tensorflow', reason: 'requested' },
    chipSize,
  });
  return {
    landmarks: onTensorflow(LANDMARK_CHIP_SIZE),
    descriptor: descriptor ? onTensorflow(DESCRIPTOR_CHIP_SIZE) : null,
  };
}

async function checkedNet(
  tf: TfModule,
  faceapi: FaceApiModule,
  build: () => Buffer,
  chipSize: number,
  reference: (chips: NetInput) => { data(): Promise<unknown> },
): Promise<ConvertedNet> {
  const tensorflow = (reason: string): ConvertedNet => ({
    session: null,
    runtime: { runtime: 'tensorflow', reason },
    chipSize,
  });
  let net: ConvertedNet;
  try {
    net = { session: await OnnxSession.create(build()), runtime: { runtime: 'onnxruntime' }, chipSize };
  } catch (error) {
    return tensorflow(`onnxruntime could not run the converted net: ${(error as Error).message}`);
  }
  tf.engine().startScope();
  try {
    // A smooth gradient and its inverse, neither square (so face-api pads them): any layer out of place changes
    // the outputs far beyond the tolerance.
    const width = chipSize;
    const height = Math.round(chipSize * 1.2);
    const plane = width * height * 3;
    const pixels = Float32Array.from({ length: 2 * plane }, (_, i) => {
      const value = ((i % (width * 3)) / (width * 3)) * 255;
      return i < plane ? value : 255 - value;
    });
    const chips = await faceapi.toNetInput(tf.unstack(tf.tensor4d(pixels, [2, height, width, 3])));
    const expected = (await reference(chips).data()) as Float32Array;
    const actual = await runConverted(tf, net, chips);
    const difference = expected.reduce((max, value, i) => Math.max(max, Math.abs(value - actual[i]!)), 0);
    if (!(difference <= CONVERSION_TOLERANCE)) {
      return tensorflow(`the converted net differs from tfjs by ${difference} (tolerance ${CONVERSION_TOLERANCE})`);
    }
    return net;
  } finally {
    tf.engine().endScope();
  }
}

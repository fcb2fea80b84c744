import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import {
  BLAZEFACE_ANCHORS,
  BLAZEFACE_INPUT_SIZE,
  BLAZEFACE_VALUES,
  blazeFaceOnnx,
  readGraphWeights,
  type TfGraphModelJson,
} from './blazeface-onnx.js';
import { CONVERSION_TOLERANCE, type NetRuntime } from './converted-nets.js';
import { OnnxSession } from './onnx-runtime.js';
import type { TfModule } from './tensorflow.js';

/** human's tfjs BlazeFace model, as its Human instance holds it once loaded. */
export interface HumanBlazeFaceModel {
  execute(input: Tf.Tensor): Tf.Tensor | Tf.Tensor[];
}

/** human's detector settings that decide which boxes come out (face.detector in its config). */
export interface BlazeFaceSettings {
  maxDetected: number;
  minConfidence: number;
  iouThreshold: number;
  /** Box enlargement (1: the raw box). */
  scale: number;
  minSize: number;
}

/** A face as human's detector reports it with the mesh off: `box` [x, y, width, height] in pixels, `boxScore`. */
export interface BlazeFaceBox {
  box: [number, number, number, number];
  boxScore: number;
}

/** human's anchors for the 256 px model: a 16x16 grid of 2 anchors, then an 8x8 grid of 6 (facemeshutil). */
function anchors(): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [
    [BLAZEFACE_INPUT_SIZE / 16, 2],
    [BLAZEFACE_INPUT_SIZE / 8, 6],
  ] as const) {
    const cells = Math.floor((BLAZEFACE_INPUT_SIZE + stride - 1) / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let n = 0; n < perCell; n++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  return Float32Array.from(out);
}

/** Computed once: every detection decodes against the same anchors. */
const ANCHOR_CENTRES = anchors();

/**
 * BlazeFace with its net on onnxruntime, converted at start-up from human's tfjs graph (blazeface.json) and
 * checked against human's own model; the rest is human's blazeface.getBoxes and facemesh.predict (mesh off, no
 * square padding) step for step, with the same tfjs ops, so the boxes are human's. The net on tfjs-wasm took
 * ~28 of the ~35 ms a photo's detection cost; on onnxruntime it takes about a fifth of that.
 */
export class BlazeFaceDetector {
  private constructor(
    private readonly tf: TfModule,
    private readonly session: OnnxSession,
    private readonly settings: BlazeFaceSettings,
  ) {}

  /**
   * The converted detector, or null with the reason when it cannot be used: the runtime does not load, the graph
   * holds an op the converter does not know, or its outputs differ from human's model by more than the tolerance.
   */
  static async create(
    tf: TfModule,
    reference: HumanBlazeFaceModel | undefined,
    modelDir: string,
    settings: BlazeFaceSettings,
  ): Promise<{ detector: BlazeFaceDetector | null; runtime: NetRuntime }> {
    const tensorflow = (reason: string) => ({ detector: null, runtime: { runtime: 'tensorflow' as const, reason } });
    if (!reference) return tensorflow("human's BlazeFace model is not where this human release was known to keep it");
    let session: OnnxSession;
    try {
      const json = JSON.parse(await readFile(path.join(modelDir, 'blazeface.json'), 'utf8')) as TfGraphModelJson;
      const shards = await Promise.all(
        json.weightsManifest.flatMap((group) => group.paths.map((shard) => readFile(path.join(modelDir, shard)))),
      );
      session = await OnnxSession.create(blazeFaceOnnx(json, readGraphWeights(json, Buffer.concat(shards))));
    } catch (error) {
      return tensorflow(`the converted BlazeFace net cannot run: ${(error as Error).message}`);
    }
    const difference = await compareWithReference(tf, session, reference);
    if (!(difference <= CONVERSION_TOLERANCE)) {
      return tensorflow(
        `the converted BlazeFace net differs from tfjs by ${difference} (relative beyond 1; tolerance ${CONVERSION_TOLERANCE})`,
      );
    }
    return { detector: new BlazeFaceDetector(tf, session, settings), runtime: { runtime: 'onnxruntime' } };
  }

  /** The faces in `image` ([height, width, 3], 0-255), in human's order (non-max suppression's). */
  async detect(image: Tf.Tensor3D): Promise<BlazeFaceBox[]> {
    const { tf, settings } = this;
    const [height, width] = image.shape;
    const found = tf.tidy(() => {
      const input = tf.cast(tf.expandDims(image, 0), 'float32') as Tf.Tensor4D;
      const resized = tf.image.resizeBilinear(input, [BLAZEFACE_INPUT_SIZE, BLAZEFACE_INPUT_SIZE]);
      return tf.sub(tf.div(resized, 127.5), 1);
    });
    const raw = await this.session.run((await found.data()) as Float32Array, found.shape);
    found.dispose();
    const size = BLAZEFACE_INPUT_SIZE;
    const { boxes, scores } = tf.tidy(() => {
      const batch = tf.tensor2d(raw, [BLAZEFACE_ANCHORS, BLAZEFACE_VALUES]);
      // human's decodeBoxes: centres and sizes relative to the anchors, as start and end points in model pixels.
      const centres = tf.div(
        tf.add(tf.slice(batch, [0, 1], [-1, 2]), tf.tensor2d(ANCHOR_CENTRES, [BLAZEFACE_ANCHORS, 2])),
        size,
      );
      const half = tf.div(tf.div(tf.slice(batch, [0, 3], [-1, 2]), size), 2);
      const starts = tf.mul(tf.sub(centres, half), size);
      const ends = tf.mul(tf.add(centres, half), size);
      return {
        boxes: tf.concat2d([starts as Tf.Tensor2D, ends as Tf.Tensor2D], 1),
        scores: tf.squeeze<Tf.Tensor1D>(tf.sigmoid(tf.slice(batch, [0, 0], [-1, 1]))),
      };
    });
    try {
      const kept = await tf.image.nonMaxSuppressionAsync(
        boxes,
        scores,
        settings.maxDetected,
        settings.iouThreshold,
        settings.minConfidence,
      );
      const indices = (await kept.data()) as Int32Array;
      kept.dispose();
      const points = (await boxes.data()) as Float32Array;
      const confidences = (await scores.data()) as Float32Array;
      const faces: BlazeFaceBox[] = [];
      for (const index of indices) {
        const confidence = confidences[index]!;
        if (!(confidence > settings.minConfidence)) continue;
        // scaleBoxCoordinates, enlargeBox, squarifyBox and clampBox, in human's arithmetic.
        const fx = width / size;
        const fy = height / size;
        const [x0, y0, x1, y1] = [
          points[4 * index]! * fx,
          points[4 * index + 1]! * fy,
          points[4 * index + 2]! * fx,
          points[4 * index + 3]! * fy,
        ];
        const [cx, cy] = [x0 + (x1 - x0) / 2, y0 + (y1 - y0) / 2];
        const [halfX, halfY] = [(settings.scale * Math.abs(x1 - x0)) / 2, (settings.scale * Math.abs(y1 - y0)) / 2];
        const [ex0, ey0, ex1, ey1] = [cx - halfX, cy - halfY, cx + halfX, cy + halfY];
        const [scx, scy] = [ex0 + (ex1 - ex0) / 2, ey0 + (ey1 - ey0) / 2];
        const squareSize = [Math.abs(ex1 - ex0), Math.abs(ey1 - ey0)] as const;
        const squareHalf = Math.max(...squareSize) / 2;
        const start = [Math.round(scx - squareHalf), Math.round(scy - squareHalf)] as const;
        const end = [Math.round(scx + squareHalf), Math.round(scy + squareHalf)] as const;
        if (!(Math.round(squareSize[0]) > settings.minSize && Math.round(squareSize[1]) > settings.minSize)) continue;
        faces.push({
          box: [
            Math.trunc(Math.max(0, start[0])),
            Math.trunc(Math.max(0, start[1])),
            Math.trunc(Math.min(width, end[0]) - Math.max(0, start[0])),
            Math.trunc(Math.min(height, end[1]) - Math.max(0, start[1])),
          ],
          boxScore: Math.round(100 * confidence) / 100,
        });
      }
      return faces;
    } finally {
      boxes.dispose();
      scores.dispose();
    }
  }
}

/**
 * Largest difference (relative, for values beyond 1) between the converted net's output and human's model's (its four heads concatenated as
 * human does) on a fixed input: a smooth gradient, different in each channel, so a misplaced layer shows.
 */
async function compareWithReference(
  tf: TfModule,
  session: OnnxSession,
  reference: HumanBlazeFaceModel,
): Promise<number> {
  const size = BLAZEFACE_INPUT_SIZE;
  const pixels = Float32Array.from({ length: size * size * 3 }, (_, i) => {
    const [y, x, c] = [Math.floor(i / (size * 3)), Math.floor(i / 3) % size, i % 3];
    return Math.sin((x * (c + 1)) / 40 + y / 30) * 0.9;
  });
  const outputs = tf.tidy(() => {
    const result = reference.execute(tf.tensor4d(pixels, [1, size, size, 3]));
    return Array.isArray(result) ? result : [result];
  });
  const heads = [...outputs].sort((a, b) => a.size - b.size);
  const expected =
    heads.length === 4
      ? tf.tidy(() => tf.concat([tf.concat([heads[1]!, heads[3]!], 2), tf.concat([heads[0]!, heads[2]!], 2)], 1))
      : null;
  tf.dispose(outputs);
  if (!expected) return Number.POSITIVE_INFINITY;
  const want = (await expected.data()) as Float32Array;
  expected.dispose();
  const got = await session.run(pixels, [1, size, size, 3]);
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  // Relative beyond 1: the box heads give offsets in model pixels (up to ~200), where float32 sums carry ~1e-5.
  return want.reduce((max, value, i) => Math.max(max, Math.abs(value - got[i]!) / Math.max(1, Math.abs(value))), 0);
}

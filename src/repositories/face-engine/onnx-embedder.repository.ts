import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { alignedChip, ARCFACE_SIZE, fivePoints, type Point2, type RgbPixels } from '../../services/face-alignment.js';
import { PROJECT_ROOT } from '../../paths.js';
import { unitLength } from '../../services/face-distance.js';
import { ModelIntegrityError, type OnnxModelSpec } from './model-manifest.js';
import { OnnxSession } from './onnx-runtime.js';

/** Runs a licensed ONNX face embedder with onnxruntime-node on the CPU. */
export class OnnxEmbedder {
  private constructor(
    private readonly session: OnnxSession,
    private readonly mean: number,
    private readonly std: number,
  ) {}

  /** Loads the model after checking its sha256 against the manifest (a mismatch is a ModelIntegrityError). */
  static async load(spec: OnnxModelSpec): Promise<OnnxEmbedder> {
    const file = path.isAbsolute(spec.file) ? spec.file : path.join(PROJECT_ROOT, spec.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new ModelIntegrityError(`ONNX model ${file} cannot be read: ${(error as Error).message}`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== spec.sha256) {
      throw new ModelIntegrityError(
        `ONNX model ${file}: sha256 ${sha256} does not match the manifest's ${spec.sha256}`,
      );
    }
    const session = await OnnxSession.create(new Uint8Array(bytes));
    return new OnnxEmbedder(session, spec.mean ?? 127.5, spec.std ?? 128);
  }

  /** The unit-length embedding of the face whose 68 landmarks are given, in `image`'s pixels. */
  async describe(image: RgbPixels, landmarks: readonly Point2[]): Promise<Float32Array> {
    const chip = alignedChip(image, fivePoints(landmarks));
    const plane = ARCFACE_SIZE * ARCFACE_SIZE;
    const input = new Float32Array(3 * plane);
    // HWC 0-255 to normalised NCHW.
    for (let i = 0; i < plane; i++) {
      for (let c = 0; c < 3; c++) input[c * plane + i] = (chip[i * 3 + c]! - this.mean) / this.std;
    }
    const output = await this.session.run(input, [1, 3, ARCFACE_SIZE, ARCFACE_SIZE]);
    return unitLength(Float32Array.from(output));
  }
}

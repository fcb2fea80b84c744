import sharp from 'sharp';
import { FaceEngine, type RgbImage } from '../../src/repositories/face-engine/face-engine.repository.js';

/** The engine as workers run it (nets on onnxruntime) and the same engine with every net left on tfjs. */
export async function onnxAndTensorflowEngines(): Promise<{ onnx: FaceEngine; tensorflow: FaceEngine }> {
  const onnx = await FaceEngine.create({ embedder: 'face_recognition', allowCpuBackend: false });
  const tensorflow = await FaceEngine.create({
    embedder: 'face_recognition',
    allowCpuBackend: false,
    netRuntime: 'tensorflow',
  });
  return { onnx, tensorflow };
}

/** A photo's pixels as the engine takes them. */
export async function rgbPixels(bytes: Buffer): Promise<RgbImage> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

import path from 'node:path';
import { packageDir, readModelManifest, verifyModelFiles } from './model-manifest.js';
import type { RgbImage } from './face-engine.repository.js';
import { loadTensorflow, type FaceApiModule, type TfModule } from './tensorflow.js';

/**
 * face-api's own pipeline as it ships, for the faces bench to measure simsift's against on the same photos:
 * SSD MobileNetV1 with its default options, then the 68-point landmarks, then the descriptor, all on tfjs. It
 * shares nothing with FaceEngine but the tfjs backend and the weights, so a speed-up there cannot leak into it.
 */
export class FaceApiReference {
  private constructor(
    private readonly tf: TfModule,
    private readonly faceapi: FaceApiModule,
  ) {}

  static async create(options: { allowCpuBackend: boolean }): Promise<FaceApiReference> {
    await verifyModelFiles(await readModelManifest(), ['ssd_mobilenetv1', 'face_landmark_68', 'face_recognition']);
    const { tf, faceapi } = await loadTensorflow({ allowCpu: options.allowCpuBackend });
    const models = path.join(packageDir('@vladmandic/face-api'), 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
    return new FaceApiReference(tf, faceapi);
  }

  /** Finds, landmarks and describes every face in the photo; returns how many faces got a descriptor. */
  async describeFaces(image: RgbImage): Promise<number> {
    const { tf, faceapi } = this;
    const pixels = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
    const tensor = tf.tensor3d(pixels, [image.height, image.width, 3]);
    try {
      // face-api's bundled tfjs types differ from @tensorflow/tfjs's; the runtime objects are the same.
      const input = tensor as unknown as Parameters<FaceApiModule['extractFaceTensors']>[0];
      const landmarked = faceapi.detectAllFaces(input).withFaceLandmarks();
      const faces = (await landmarked.withFaceDescriptors()) as unknown as readonly unknown[];
      return faces.length;
    } finally {
      tensor.dispose();
    }
  }
}

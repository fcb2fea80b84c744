import type { FaceApiModule, TfModule } from './tensorflow.js';

/** A face-api box (Rect, or the Box landmarks.align returns): it clips itself as extractFaceTensors does. */
export type FaceRegion = Pick<InstanceType<FaceApiModule['Rect']>, 'clipAtImageBorders'>;
type FaceTensor = Awaited<ReturnType<FaceApiModule['extractFaceTensors']>>[number];

/**
 * face-api's extractFaceTensors for one region, cut from the photo's bytes instead of its image tensor: the same
 * region (face-api's own clipping and flooring) and the same int32 values, copied a row at a time. tfjs-wasm
 * slices an int32 tensor element by element in JS: about 3 ms a crop, and a photo takes two (landmarks and
 * descriptor).
 */
export function cropFaceTensor(
  tf: TfModule,
  // face-engine's RgbImage, spelled out: that module imports this one.
  image: { data: Buffer; width: number; height: number },
  region: FaceRegion,
): FaceTensor {
  const { x, y, width, height } = region.clipAtImageBorders(image.width, image.height);
  // extractFaceTensors drops such a region, and every caller here would then fail on the missing crop.
  if (!(width > 0 && height > 0)) throw new Error('the face region lies outside the photo');
  const values = new Int32Array(width * height * 3);
  for (let row = 0; row < height; row++) {
    const start = ((y + row) * image.width + x) * 3;
    values.set(image.data.subarray(start, start + width * 3), row * width * 3);
  }
  // face-api's bundled tfjs types differ from @tensorflow/tfjs's; the runtime objects are the same.
  return tf.tensor3d(values, [height, width, 3], 'int32') as unknown as FaceTensor;
}

/**
 * The photo's bytes as int32 in one buffer kept across photos. Given the bytes, tfjs would convert them into a
 * new Int32Array of its own (4 bytes a subpixel: 3-13 MB a photo, up to three times a photo with the padded
 * retry), and the wasm backend copies the values into its heap at once and keeps no reference: the garbage of
 * those arrays cost about a tenth of a worker's CPU in GC.
 */
export class PixelBuffer {
  private buffer = new Int32Array(0);

  /** Valid until the next call: make the tensor from it at once. */
  int32(bytes: Buffer): Int32Array {
    if (this.buffer.length < bytes.length) this.buffer = new Int32Array(bytes.length);
    const pixels = this.buffer.subarray(0, bytes.length);
    pixels.set(bytes);
    return pixels;
  }
}

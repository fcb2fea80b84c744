import type { RgbImage } from './face-engine.repository.js';
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
export function cropFaceTensor(tf: TfModule, image: RgbImage, region: FaceRegion): FaceTensor {
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

/**
 * The engine cuts face crops from the photo's bytes instead of calling face-api's extractFaceTensors on the image
 * tensor: the crops must be exactly face-api's (same region, same values) for the landmark and descriptor nets to
 * see what they saw before, including fractional boxes and boxes that cross the photo's borders.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropFaceTensor } from '../../src/repositories/face-engine/photo-tensors.js';
import { FaceEngine, type RgbImage } from '../../src/repositories/face-engine/face-engine.repository.js';
import { loadTensorflow } from '../../src/repositories/face-engine/tensorflow.js';
import { samplePhoto } from '../helpers/photos.js';

async function rgb(sample: number, width: number): Promise<RgbImage> {
  const { data, info } = await sharp(await samplePhoto(sample))
    .resize({ width })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

describe('face crops', () => {
  it('come from the photo given, whatever photos the engine loaded before (its pixel buffer is reused)', async () => {
    const engine = await FaceEngine.create({ embedder: 'face_recognition', allowCpuBackend: false });
    const look = (image: RgbImage) =>
      engine.withImage(image, async (img) => {
        const faces = await img.detectBlazeFace(0.5);
        return { faces, landmarks: await img.landmarks(faces[0]!) };
      });
    const small = await rgb(1, 500);
    const large = await rgb(3, 900);
    const first = await look(small);
    expect(first.faces.length).toBeGreaterThan(0);
    const other = await look(large);
    expect(other).not.toEqual(first);
    expect(await look(small)).toEqual(first);
  }, 120_000);

  it("equal face-api's extractFaceTensors on a real photo, inside and across its borders", async () => {
    const { tf, faceapi } = await loadTensorflow({ allowCpu: false });
    const { data, info } = await sharp(await samplePhoto(2))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image: RgbImage = { data, width: info.width, height: info.height };
    const tensor = tf.tensor3d(Int32Array.from(data), [image.height, image.width, 3], 'int32');
    const boxes: [number, number, number, number][] = [
      [10, 20, 100, 120],
      [33.7, 41.2, 150.6, 149.9],
      [-25.5, -10.2, 90.3, 110.8],
      [image.width - 60.4, image.height - 70.6, 120, 130],
      [image.width / 2, 0.5, image.width, image.height / 3],
    ];
    for (const [x, y, width, height] of boxes) {
      const rect = new faceapi.Rect(x, y, width, height);
      const [expected] = await faceapi.extractFaceTensors(tensor as never, [rect]);
      const actual = cropFaceTensor(tf, image, rect);
      expect(actual.shape).toEqual(expected!.shape);
      expect(actual.dtype).toBe('int32');
      expect(Array.from(await actual.data())).toEqual(Array.from(await expected!.data()));
      tf.dispose([actual, expected!] as never);
    }
    tensor.dispose();
  }, 60_000);
});

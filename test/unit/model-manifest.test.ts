import { describe, expect, it } from 'vitest';
import {
  ModelIntegrityError,
  readModelManifest,
  verifyModelFiles,
} from '../../src/repositories/face-engine/model-manifest.js';

describe('model manifest', () => {
  it('lists every model the pipeline loads, with sha256 and calibrated embedder thresholds', async () => {
    const manifest = await readModelManifest();
    const names = manifest.models.map((model) => model.name);
    expect(names).toEqual(
      expect.arrayContaining(['blazeface', 'ssd_mobilenetv1', 'face_landmark_68', 'face_recognition', 'faceres']),
    );
    for (const model of manifest.models) {
      for (const file of model.files) expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
      if (model.role === 'embedder') {
        expect(model.descriptorLength).toBeGreaterThan(0);
        expect(model.samePersonThreshold).toBeGreaterThan(0);
        expect(model.calibration).toMatch(/FAR/);
      }
    }
  });

  it('accepts the installed weights', async () => {
    const manifest = await readModelManifest();
    const entries = await verifyModelFiles(manifest, ['blazeface', 'face_recognition']);
    expect(entries.map((entry) => entry.name)).toEqual(['blazeface', 'face_recognition']);
  });

  it('stops with a clear error when a weight file does not match its sha256', async () => {
    const manifest = await readModelManifest();
    const tampered = structuredClone(manifest);
    const model = tampered.models.find((entry) => entry.name === 'face_recognition')!;
    model.files[1]!.sha256 = '0'.repeat(64);
    await expect(verifyModelFiles(tampered, ['face_recognition'])).rejects.toThrow(ModelIntegrityError);
    await expect(verifyModelFiles(tampered, ['face_recognition'])).rejects.toThrow(
      /face_recognition_model\.bin has sha256 [0-9a-f]{64}, but models\/manifest\.json expects 0{64}/,
    );
  });

  it('names a model the manifest does not list', async () => {
    await expect(verifyModelFiles(await readModelManifest(), ['no_such_model'])).rejects.toThrow(
      /no model "no_such_model"/,
    );
  });
});

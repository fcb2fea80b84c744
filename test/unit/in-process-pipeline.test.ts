import { describe, expect, it } from 'vitest';
import { embeddingCacheDir, gateOf } from '../../src/eval/in-process-pipeline.js';
import { loadConfig } from '../../src/config.js';

describe('embeddingCacheDir', () => {
  const faces = loadConfig({ SIMSIFT_DATA_DIR: '/tmp/simsift-cache-test' }, { secret: 'ephemeral' }).faces;
  const embedder = { name: 'face_recognition', version: '@vladmandic/face-api@1.7.15' };

  it('keeps results apart per quality-gate setting, so a changed gate is never answered from the old one', () => {
    const base = embeddingCacheDir('/cache', embedder, gateOf(faces));
    expect(base).toMatch(/^\/cache\/face_recognition@@vladmandic_face-api@1\.7\.15-[0-9a-f]{12}$/);
    expect(embeddingCacheDir('/cache', embedder, gateOf({ ...faces, minFacePx: faces.minFacePx + 1 }))).not.toBe(base);
    expect(embeddingCacheDir('/cache', { ...embedder, name: 'faceres' }, gateOf(faces))).not.toBe(base);
  });

  it('does not depend on settings that do not change what the pipeline makes of a photo', () => {
    const base = embeddingCacheDir('/cache', embedder, gateOf(faces));
    const other = { ...faces, embedder: 'faceres' as const, allowCpuBackend: !faces.allowCpuBackend, jobLockMs: 1 };
    expect(embeddingCacheDir('/cache', embedder, gateOf(other))).toBe(base);
  });
});

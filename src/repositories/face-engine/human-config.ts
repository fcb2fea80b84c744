import type { BlazeFaceSettings } from './blazeface-detector.js';
import type { TfBackend } from './tensorflow.js';

/** Human settings for still photos: no frame caching (it would reuse results across photos), no warm-up. */
export function humanConfig(
  backend: TfBackend,
  modelBasePath: string,
  { describe }: { describe: boolean },
): Record<string, unknown> & {
  face: Record<string, unknown> & { detector: BlazeFaceSettings & Record<string, unknown> };
} {
  const off = { enabled: false };
  return {
    backend: backend === 'tensorflow' ? 'tensorflow' : backend,
    modelBasePath,
    cacheSensitivity: 0,
    skipAllowed: false,
    warmup: 'none',
    debug: false,
    filter: off,
    face: {
      enabled: true,
      // scale 1: the raw BlazeFace box; human's default 1.4 enlargement is for its mesh model only.
      detector: {
        rotation: describe,
        maxDetected: describe ? 1 : 20,
        minConfidence: 0.2,
        // human's defaults, spelled out: the converted detector (blazeface-detector.ts) applies them too.
        iouThreshold: 0.1,
        minSize: 0,
        // The describer needs the face crop tensor; the detector alone does not.
        return: describe,
        scale: describe ? 1.4 : 1,
      },
      mesh: { enabled: describe },
      iris: off,
      description: { enabled: describe },
      emotion: off,
      antispoof: off,
      liveness: off,
      attention: off,
      gear: off,
    },
    body: off,
    hand: off,
    object: off,
    gesture: off,
    segmentation: off,
  };
}

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config, FaceConfig } from '../config.js';
import type { FaceEngine } from '../repositories/face-engine/face-engine.repository.js';
import type { FaceQuality } from '../repositories/face.repository.js';
import { ImageRepository } from '../repositories/image.repository.js';
import {
  FACE_PIPELINE_REVISION,
  FacePipelineService,
  type FaceThresholds,
  type Stage,
} from '../services/face-pipeline.service.js';

/** What the face pipeline made of one photo. */
export interface PhotoResult {
  file: string;
  sha256: string;
  state: string;
  detail: Record<string, unknown>;
  quality: FaceQuality | null;
  embedding: Float32Array | null;
  timings: Partial<Record<Stage, number>>;
}

interface CachedResult {
  state: string;
  detail: Record<string, unknown>;
  quality: FaceQuality | null;
  embedding: number[] | null;
}

/**
 * Where results of one embedder (name and weights version) are cached under `base`, for one revision of the
 * pipeline and one set of face thresholds: a cached result holds the quality gate's verdict, and a changed
 * setting or pipeline must not be answered from results made under the old one.
 */
export function embeddingCacheDir(
  base: string,
  embedder: { name: string; version: string },
  thresholds: FaceThresholds,
): string {
  const settings = createHash('sha256')
    .update(JSON.stringify({ revision: FACE_PIPELINE_REVISION, thresholds }))
    .digest('hex')
    .slice(0, 12);
  return path.join(base, `${embedder.name}@${embedder.version}-${settings}`.replace(/[^A-Za-z0-9@._-]/g, '_'));
}

/** The settings of `config.faces` that decide what the pipeline makes of a photo (not which embedder runs). */
export function gateOf({
  embedder: _embedder,
  allowCpuBackend: _cpu,
  jobLockMs: _lock,
  ...gate
}: FaceConfig): FaceThresholds {
  return gate;
}

/** Photos under `dir` (any depth), sorted, as absolute paths. */
export async function listPhotos(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .map(String)
    .filter((file) => /\.(jpe?g|png|webp)$/i.test(file))
    .sort()
    .map((file) => path.join(dir, file));
}

/**
 * Runs the real face pipeline over photo files in this process, without a database or queue (eval, survey).
 * With `cacheDir`, results are kept per embedder and photo sha256, so a second run skips the models.
 */
export async function runPipelineOnFiles(
  files: readonly string[],
  engine: FaceEngine,
  config: Config,
  options: { cacheDir?: string; onProgress?: (done: number) => void } = {},
): Promise<PhotoResult[]> {
  const current = { bytes: Buffer.alloc(0) };
  // What the fake store was given for the photo being processed.
  const capture: { result: Omit<PhotoResult, 'file' | 'sha256' | 'timings'> | null } = { result: null };
  const service = new FacePipelineService({
    store: {
      findRecordPhoto: (recordId) =>
        Promise.resolve({ recordId, photoSha256: Buffer.alloc(32), mimeType: 'image/jpeg' as const }),
      saveFace: (face) => {
        capture.result = { state: 'face_ready', detail: {}, quality: face.quality, embedding: face.embedding };
        return Promise.resolve(1);
      },
      saveOutcome: (_recordId, state, detail) => {
        capture.result = { state, detail, quality: null, embedding: null };
        return Promise.resolve();
      },
    },
    photos: { read: () => Promise.resolve(current.bytes) },
    images: new ImageRepository(config.dataDir, config.upload.maxPhotoPixels),
    models: engine,
    clusterQueue: { enqueueFaces: () => Promise.resolve() },
    thresholds: config.faces,
  });
  const cacheDir = options.cacheDir ? embeddingCacheDir(options.cacheDir, engine.embedder, gateOf(config.faces)) : null;
  if (cacheDir) await mkdir(cacheDir, { recursive: true });

  const results: PhotoResult[] = [];
  for (const [i, file] of files.entries()) {
    const bytes = await readFile(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const cacheFile = cacheDir ? path.join(cacheDir, `${sha256}.json`) : null;
    const cached = cacheFile ? await readCache(cacheFile) : null;
    if (cached) {
      results.push({
        file,
        sha256,
        ...cached,
        embedding: cached.embedding ? Float32Array.from(cached.embedding) : null,
        timings: {},
      });
    } else {
      current.bytes = bytes;
      capture.result = null;
      const outcome = await service.processRecord(i + 1);
      const result = capture.result ?? {
        state: outcome.state ?? 'unreadable_image',
        detail: outcome.detail,
        quality: null,
        embedding: null,
      };
      results.push({ file, sha256, ...result, timings: outcome.timings });
      if (cacheFile) {
        const entry: CachedResult = { ...result, embedding: result.embedding ? Array.from(result.embedding) : null };
        await writeFile(`${cacheFile}.part`, JSON.stringify(entry));
        await rename(`${cacheFile}.part`, cacheFile);
      }
    }
    options.onProgress?.(i + 1);
  }
  return results;
}

async function readCache(file: string): Promise<CachedResult | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as CachedResult;
  } catch {
    return null;
  }
}

/**
 * Runs the real face pipeline (detector, quality gate, embedder) over a folder of photos, in process and
 * without a database, and prints one JSON object: outcome counts, the no-face rate, and the distribution of
 * each quality measure. Used to choose the quality-gate defaults in src/config.ts.
 *
 *   npx tsx scripts/survey-faces.ts [DIR] [--limit N] [--embedder face_recognition|faceres]
 */
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { FaceEngine } from '../src/repositories/face-engine/face-engine.repository.js';
import { ImageRepository } from '../src/repositories/image.repository.js';
import { sniffImageType } from '../src/repositories/photo-store.repository.js';
import type { FaceQuality, NewFace } from '../src/repositories/face.repository.js';
import { faceDistance, verificationAtFar } from '../src/services/face-distance.js';
import { FacePipelineService } from '../src/services/face-pipeline.service.js';

export async function listPhotos(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries
    .map(String)
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

function quantiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
  return {
    n: sorted.length,
    min: sorted[0] ?? null,
    p01: at(0.01),
    p05: at(0.05),
    p50: at(0.5),
    p95: at(0.95),
    max: sorted.at(-1) ?? null,
  };
}

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const dir = path.resolve(
  args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? '../shared/datasets/faces-dev',
);
const limit = Number(flag('--limit') ?? Infinity);
const config = loadConfig({ ...process.env, SIMSIFT_DATA_DIR: path.join(os.tmpdir(), 'simsift-survey') });
const embedder = (flag('--embedder') ?? config.faces.embedder) as 'face_recognition' | 'faceres';
const engine = await FaceEngine.create({ embedder, allowCpuBackend: false });
const files = (await listPhotos(dir)).slice(0, limit);
const saved: NewFace[] = [];
const identities: string[] = [];
const outcomes: Record<string, string[]> = {};
const details: Record<string, unknown>[] = [];
const service = new FacePipelineService({
  store: {
    findRecordPhoto: (recordId) =>
      Promise.resolve({ recordId, photoSha256: Buffer.from(String(recordId)), mimeType: 'image/jpeg' as const }),
    saveFace: (face) => {
      saved.push(face);
      identities.push(path.relative(dir, files[face.recordId]!).split(path.sep)[0]!);
      return Promise.resolve(saved.length);
    },
    saveOutcome: (_id, _state, detail) => {
      details.push(detail);
      return Promise.resolve();
    },
  },
  photos: { read: (sha) => readFile(files[Number(sha.toString())]!) },
  images: new ImageRepository(config.dataDir, config.upload.maxPhotoPixels),
  models: engine,
  clusterQueue: { enqueueFaces: () => Promise.resolve() },
  thresholds: config.faces,
});
const started = performance.now();
const stageTotals: Record<string, number> = {};
for (const [i, file] of files.entries()) {
  const bytes = await readFile(file);
  if (!sniffImageType(bytes)) continue;
  const outcome = await service.processRecord(i);
  (outcomes[outcome.state ?? 'none'] ??= []).push(path.relative(dir, file));
  for (const [stage, ms] of Object.entries(outcome.timings)) stageTotals[stage] = (stageTotals[stage] ?? 0) + ms;
}
const qualities: FaceQuality[] = saved.map((f) => f.quality);
const rejected = details.filter((d) => typeof d.blur === 'number') as unknown as FaceQuality[];
const all = [...qualities, ...rejected];
// Every pair of found faces, labelled by identity folder: the same-person threshold of this embedder.
const genuine: number[] = [];
const impostor: number[] = [];
for (let i = 0; i < saved.length; i++) {
  for (let j = i + 1; j < saved.length; j++) {
    const d = faceDistance(saved[i]!.embedding, saved[j]!.embedding, engine.embedder.metric);
    (identities[i] === identities[j] ? genuine : impostor).push(d);
  }
}
console.log(
  JSON.stringify(
    {
      verification: {
        genuine_pairs: genuine.length,
        impostor_pairs: impostor.length,
        at_far: verificationAtFar(genuine, impostor, [1e-2, 1e-3, 1e-4]),
      },
      dir,
      embedder,
      backend: engine.backend,
      images: files.length,
      counts: Object.fromEntries(Object.entries(outcomes).map(([k, v]) => [k, v.length])),
      no_face_rate: (outcomes.no_face?.length ?? 0) / files.length,
      not_ready: Object.fromEntries(Object.entries(outcomes).filter(([k]) => k !== 'face_ready')),
      padded_share: qualities.filter((q) => q.padded).length / Math.max(1, qualities.length),
      detectors: qualities.reduce<Record<string, number>>(
        (acc, q) => ((acc[q.detector] = (acc[q.detector] ?? 0) + 1), acc),
        {},
      ),
      blur: quantiles(all.map((q) => q.blur)),
      yaw: quantiles(all.map((q) => Math.abs(q.yaw))),
      roll: quantiles(all.map((q) => Math.abs(q.roll))),
      face_px: quantiles(all.map((q) => q.face_px)),
      score: quantiles(all.map((q) => q.detection_score)),
      rejected_details: details.map((d) => JSON.stringify(d)).slice(0, 40),
      ms_per_image: (performance.now() - started) / files.length,
      ms_per_stage: Object.fromEntries(
        Object.entries(stageTotals).map(([k, v]) => [k, Math.round((v / files.length) * 10) / 10]),
      ),
    },
    null,
    1,
  ),
);

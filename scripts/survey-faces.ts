/**
 * Runs the real face pipeline (detector, quality gate, embedder) over a folder of photos, in process and
 * without a database, and prints one JSON object: outcome counts, the no-face rate, the distribution of each
 * quality measure and the embedder's verification figures. Used to choose the quality-gate defaults in
 * src/config.ts and the thresholds in models/manifest.json.
 *
 *   npx tsx scripts/survey-faces.ts [DIR] [--limit N] [--embedder face_recognition|faceres]
 */
import os from 'node:os';
import path from 'node:path';
import { listPhotos, runPipelineOnFiles } from '../src/eval/in-process-pipeline.js';
import { loadConfig } from '../src/config.js';
import { FaceEngine } from '../src/repositories/face-engine/face-engine.repository.js';
import type { FaceQuality } from '../src/repositories/face.repository.js';
import { verificationAtFar } from '../src/services/face-distance.js';
import { labelledDistances } from '../src/eval/verification-accuracy.js';

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
const config = loadConfig(
  { ...process.env, SIMSIFT_DATA_DIR: path.join(os.tmpdir(), 'simsift-survey') },
  { secret: 'ephemeral' },
);
const embedder = flag('--embedder') ?? config.faces.embedder;
const engine = await FaceEngine.create({ embedder, allowCpuBackend: false });
const files = (await listPhotos(dir)).slice(0, Number(flag('--limit') ?? Infinity));
const started = performance.now();
const results = await runPipelineOnFiles(files, engine, config);
const seconds = (performance.now() - started) / 1000;

const byState: Record<string, string[]> = {};
for (const result of results) (byState[result.state] ??= []).push(path.relative(dir, result.file));
const measured = results
  .map(
    (result) =>
      result.quality ?? (typeof result.detail.blur === 'number' ? (result.detail as unknown as FaceQuality) : null),
  )
  .filter((quality): quality is FaceQuality => quality !== null);
const faces = results.filter((result) => result.embedding);
const { genuine, impostor } = labelledDistances(
  faces.map((face) => ({ embedding: face.embedding!, identity: path.relative(dir, face.file).split(path.sep)[0]! })),
  engine.embedder.metric,
);
const stageTotals: Record<string, number> = {};
for (const result of results) {
  for (const [stage, ms] of Object.entries(result.timings)) stageTotals[stage] = (stageTotals[stage] ?? 0) + ms;
}
console.log(
  JSON.stringify({
    dir,
    embedder,
    backend: engine.backend,
    images: files.length,
    counts: Object.fromEntries(Object.entries(byState).map(([state, list]) => [state, list.length])),
    no_face_rate: (byState.no_face?.length ?? 0) / files.length,
    not_ready: Object.fromEntries(Object.entries(byState).filter(([state]) => state !== 'face_ready')),
    padded_share: faces.filter((face) => face.quality?.padded).length / Math.max(1, faces.length),
    blur: quantiles(measured.map((q) => q.blur)),
    yaw: quantiles(measured.map((q) => Math.abs(q.yaw))),
    roll: quantiles(measured.map((q) => Math.abs(q.roll))),
    face_px: quantiles(measured.map((q) => q.face_px)),
    score: quantiles(measured.map((q) => q.detection_score)),
    verification: {
      genuine_pairs: genuine.length,
      impostor_pairs: impostor.length,
      at_far: verificationAtFar(genuine, impostor, [1e-2, 1e-3, 1e-4]),
    },
    ms_per_image: (seconds * 1000) / files.length,
    ms_per_stage: Object.fromEntries(
      Object.entries(stageTotals).map(([stage, ms]) => [stage, Math.round((ms / files.length) * 10) / 10]),
    ),
  }),
);

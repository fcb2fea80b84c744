import path from 'node:path';
import type { Config } from '../config.js';
import { listPhotos, runPipelineOnFiles } from './in-process-pipeline.js';
import { FaceEngine } from '../repositories/face-engine/face-engine.repository.js';
import {
  MODEL_MANIFEST_PATH,
  readModelManifest,
  writeEmbedderCalibration,
} from '../repositories/face-engine/model-manifest.js';
import { verificationAtFar } from '../services/face-distance.js';
import { labelledDistances } from './verification-accuracy.js';
import { fitFaceEvidence } from '../services/rules/face-evidence.js';
import { halfOf, photosByPerson } from './scenario.js';

export interface CalibrateOptions {
  /** A labelled folder of `<identity>/<image>` photos of the population served. */
  dataset: string;
  embedder: string;
  /** Calibrate on the tune half of the identities (the report half stays unseen), or on all of them. */
  half: 'tune' | 'all';
  /** The manifest to read and update (default models/manifest.json). */
  manifestFile?: string;
  /** Write the result into the manifest; without it, only print it. */
  write: boolean;
}

/**
 * `simsift calibrate`: runs the real face pipeline with `embedder` on a labelled folder and measures what its
 * distances mean there: the same-person threshold at FAR 1e-3 and the face evidence (stranger and same-person
 * tails) the fraud rules read. With `write`, both go into the manifest with a note of how they were measured.
 */
export async function runCalibrate(config: Config, options: CalibrateOptions) {
  const manifestFile = options.manifestFile ?? MODEL_MANIFEST_PATH;
  const dataset = path.resolve(options.dataset);
  const people = [...photosByPerson(dataset, await listPhotos(dataset))].filter(
    ([person]) => options.half === 'all' || halfOf(person) === 'tune',
  );
  const engine = await FaceEngine.create({
    embedder: options.embedder,
    allowCpuBackend: config.faces.allowCpuBackend,
    manifest: await readModelManifest(manifestFile),
  });
  const results = await runPipelineOnFiles(
    people.flatMap(([, files]) => files),
    engine,
    config,
    { cacheDir: path.join(config.dataDir, 'eval-cache') },
  );
  const faces = results.flatMap((result) =>
    result.embedding
      ? [{ embedding: result.embedding, identity: path.relative(dataset, result.file).split(path.sep)[0]! }]
      : [],
  );
  const { genuine, impostor } = labelledDistances(faces, engine.embedder.metric);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  const at = verificationAtFar(genuine, impostor, [1e-3, 1e-4]);
  const measured = `${options.half === 'tune' ? 'the tune half of ' : ''}${path.basename(dataset)} (${people.length} identities, ${faces.length} faces, ${genuine.length} genuine / ${impostor.length} impostor pairs, ${new Date().toISOString().slice(0, 10)})`;
  const faceEvidence = fitFaceEvidence(genuine, impostor, measured);
  const samePersonThreshold = round(at['0.001']!.threshold);
  const note =
    `simsift calibrate: FAR 1e-3 on ${measured}: threshold ${samePersonThreshold}, TAR ${round(at['0.001']!.tar)}; ` +
    `FAR 1e-4: threshold ${round(at['0.0001']!.threshold)}, TAR ${round(at['0.0001']!.tar)}.`;
  if (options.write) {
    await writeEmbedderCalibration(options.embedder, { samePersonThreshold, faceEvidence, note }, manifestFile);
  }
  return {
    embedder: `${engine.embedder.name} (${engine.embedder.version})`,
    manifest: manifestFile,
    written: options.write,
    identities: people.length,
    faces: faces.length,
    without_face: results.length - faces.length,
    samePersonThreshold,
    tar_at_far: { '1e-3': round(at['0.001']!.tar), '1e-4': round(at['0.0001']!.tar) },
    faceEvidence,
    note,
  };
}

import type { FaceEvidenceCalibration } from '../../services/rules/face-evidence.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT } from '../../paths.js';

const require = createRequire(import.meta.url);

export const MODEL_MANIFEST_PATH = path.join(PROJECT_ROOT, 'models', 'manifest.json');

export interface ModelFile {
  /** Path inside the npm package. */
  path: string;
  sha256: string;
}

/**
 * An ArcFace-compatible model a deployment licenses, declared in `models/manifest.json` (`"runtime": "onnx"`):
 * a 112x112 RGB input, 5-point aligned, and an embedding that is scaled to unit length here.
 */
export interface OnnxModelSpec {
  /** The .onnx file: absolute, or relative to the project root. Never downloaded: it is put there by the operator. */
  file: string;
  sha256: string;
  /** Pixel normalisation: (value - mean) / std; insightface models use 127.5 / 128. */
  mean?: number;
  std?: number;
}

export interface ModelEntry {
  name: string;
  role: 'detector' | 'landmarks' | 'embedder';
  package: string;
  packageVersion: string;
  files: ModelFile[];
  /** Embedders only. */
  descriptorLength?: number;
  metric?: 'euclidean' | 'cosine';
  /** Embedders only: distance below which two faces are taken as one person (see `calibration`). */
  samePersonThreshold?: number;
  calibration?: string;
  /**
   * Embedders only: bumped whenever simsift changes how it computes this model's descriptor (its crop, mirror
   * averaging, normalisation), so stored descriptors of an older revision are recognised and re-embedded.
   */
  descriptorRevision?: number;
  /**
   * An embedder a deployment licenses and runs with onnxruntime-node (ArcFace-compatible: 112x112, 5-point
   * aligned): its file, sha256 and pixel normalisation. Such an entry has no `package` files.
   */
  onnx?: OnnxModelSpec;
  /** The model's licence, for an ONNX model a deployment brings. */
  licence?: string;
  /** Embedders only: what a distance says (false-match rate, same-person tail), for the identity graph. */
  faceEvidence?: FaceEvidenceCalibration;
}

export interface ModelManifest {
  models: ModelEntry[];
}

export class ModelIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelIntegrityError';
  }
}

/**
 * The version stored with each descriptor: the weights' package and version, and the descriptor revision
 * (`@vladmandic/face-api@1.7.15+d2`). Descriptors of different versions are not comparable.
 */
export function embedderVersion(entry: ModelEntry): string {
  if (entry.onnx) return `onnx:${entry.name}@sha256:${entry.onnx.sha256.slice(0, 12)}`;
  const revision = entry.descriptorRevision ? `+d${entry.descriptorRevision}` : '';
  return `${entry.package}@${entry.packageVersion}${revision}`;
}

/** An embedder's name and the version its descriptors are stored under, from the manifest. */
export async function embedderOf(name: string): Promise<{ name: string; version: string }> {
  const entry = (await readModelManifest()).models.find((model) => model.name === name && model.role === 'embedder');
  if (!entry) throw new Error(`models/manifest.json has no embedder ${name}`);
  return { name, version: embedderVersion(entry) };
}

export async function readModelManifest(file = MODEL_MANIFEST_PATH): Promise<ModelManifest> {
  return JSON.parse(await readFile(file, 'utf8')) as ModelManifest;
}

/**
 * Writes an embedder's calibration into the manifest file: its same-person threshold, what a distance says
 * (face evidence) and how they were measured. Every other entry and field is kept as it was.
 */
export async function writeEmbedderCalibration(
  name: string,
  calibration: { samePersonThreshold: number; faceEvidence: FaceEvidenceCalibration; note: string },
  file = MODEL_MANIFEST_PATH,
): Promise<void> {
  const manifest = await readModelManifest(file);
  const entry = manifest.models.find((model) => model.name === name && model.role === 'embedder');
  if (!entry) throw new ModelIntegrityError(`${file} has no embedder "${name}"`);
  entry.samePersonThreshold = calibration.samePersonThreshold;
  entry.faceEvidence = calibration.faceEvidence;
  entry.calibration = calibration.note;
  await writeFile(`${file}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/**
 * The installed directory of an npm package. Looked up through Node's search paths rather than
 * `require.resolve('<pkg>/package.json')`, which @vladmandic/human's `exports` map forbids.
 */
export function packageDir(packageName: string): string {
  for (const dir of require.resolve.paths(packageName) ?? []) {
    const candidate = path.join(dir, packageName);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new ModelIntegrityError(`npm package ${packageName} is not installed; run npm ci`);
}

/**
 * Checks every weight file against the sha256 in the manifest: a worker must never embed faces with weights
 * other than those its thresholds were calibrated for (a silent upgrade would shift every distance).
 */
export async function verifyModelFiles(manifest: ModelManifest, names: readonly string[]): Promise<ModelEntry[]> {
  const entries: ModelEntry[] = [];
  for (const name of names) {
    const entry = manifest.models.find((model) => model.name === name);
    if (!entry) throw new ModelIntegrityError(`models/manifest.json has no model "${name}"`);
    // An ONNX model's file is checked when it is loaded (OnnxEmbedder.load): it lives outside any package.
    const dir = entry.onnx ? '' : packageDir(entry.package);
    for (const file of entry.onnx ? [] : entry.files) {
      const full = path.join(dir, file.path);
      let bytes: Buffer;
      try {
        bytes = await readFile(full);
      } catch (error) {
        throw new ModelIntegrityError(`model file missing: ${full} (${(error as Error).message}); run npm ci`);
      }
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== file.sha256) {
        throw new ModelIntegrityError(
          `model file ${entry.package}/${file.path} has sha256 ${actual}, but models/manifest.json expects ` +
            `${file.sha256}; the installed package differs from the calibrated one (run npm ci, or re-calibrate and ` +
            'update the manifest with scripts/update-model-manifest.ts)',
        );
      }
    }
    entries.push(entry);
  }
  return entries;
}

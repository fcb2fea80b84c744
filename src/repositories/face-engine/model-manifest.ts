import type { FaceEvidenceCalibration } from '../../services/rules/face-evidence.js';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
  const revision = entry.descriptorRevision ? `+d${entry.descriptorRevision}` : '';
  return `${entry.package}@${entry.packageVersion}${revision}`;
}

/** An embedder's name and the version its descriptors are stored under, from the manifest. */
export async function embedderOf(name: string): Promise<{ name: string; version: string }> {
  const entry = (await readModelManifest()).models.find((model) => model.name === name && model.role === 'embedder');
  if (!entry) throw new Error(`models/manifest.json has no embedder ${name}`);
  return { name, version: embedderVersion(entry) };
}

export async function readModelManifest(): Promise<ModelManifest> {
  return JSON.parse(await readFile(MODEL_MANIFEST_PATH, 'utf8')) as ModelManifest;
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
    const dir = packageDir(entry.package);
    for (const file of entry.files) {
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

/**
 * Rewrites the sha256 and package versions in models/manifest.json from the installed npm packages. Run it
 * after upgrading @vladmandic/face-api or @vladmandic/human, then re-calibrate the thresholds (`simsift eval`).
 */
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_MANIFEST_PATH, packageDir, type ModelManifest } from '../src/repositories/face-engine/model-manifest.js';

const manifest = JSON.parse(await readFile(MODEL_MANIFEST_PATH, 'utf8')) as ModelManifest;
for (const model of manifest.models) {
  const dir = packageDir(model.package);
  model.packageVersion = (
    JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version: string }
  ).version;
  for (const file of model.files) {
    file.sha256 = createHash('sha256')
      .update(await readFile(path.join(dir, file.path)))
      .digest('hex');
  }
}
await writeFile(MODEL_MANIFEST_PATH, JSON.stringify(manifest, null, 2) + '\n');
console.log(`updated ${MODEL_MANIFEST_PATH}`);

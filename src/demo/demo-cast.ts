import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import { FaceEngine } from '../repositories/face-engine/face-engine.repository.js';
import { faceDistance } from '../services/face-distance.js';
import type { CastMember } from './demo-batch.js';
import type { FaceSource } from './demo-photos.js';
import { runPipelineOnFiles } from '../eval/in-process-pipeline.js';

/** A frontal, sharp face: what a PoS agent's KYC photo should be, and steady under the demo's transforms. */
const MAX_CAST_YAW = 35;
const MIN_CAST_SCORE = 0.6;
/**
 * Two cast members must be this far apart (as a share of the same-person threshold): each is photographed
 * several times and the demo's transforms move a face by up to ~0.2-0.3, so people near the threshold could
 * meet. Measured on faces-dev: the transforms' median shift is 0.06-0.12.
 */
const LOOKALIKE_MARGIN = 1.1;

export interface Cast {
  members: CastMember[];
  /** Real photos the pipeline finds no usable face in: the demo plants them as NO_USABLE_FACE. */
  unusable: CastMember[];
  /** Sources left out, and why. */
  left: { label: string; why: string }[];
}

/**
 * Picks the demo's cast by running the real face pipeline once over every source photo (results cached per
 * photo sha256 under the data dir): frontal faces only, and no two people the model cannot tell apart, so
 * that a trap flagged or a ring missed is the system's doing, not the casting's.
 */
export async function screenCast(sources: readonly FaceSource[], config: Config, cacheDir: string): Promise<Cast> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'simsift-cast-'));
  try {
    const photos = await Promise.all(sources.map((source) => source.load()));
    const files = await Promise.all(
      photos.map(async (photo, i) => {
        const file = path.join(work, `${i}.jpg`);
        await writeFile(file, photo);
        return file;
      }),
    );
    const engine = await FaceEngine.create({
      embedder: config.faces.embedder,
      allowCpuBackend: config.faces.allowCpuBackend,
    });
    const results = await runPipelineOnFiles(files, engine, config, { cacheDir });
    const { metric, samePersonThreshold } = engine.embedder;
    const members: (CastMember & { embedding: Float32Array })[] = [];
    const unusable: CastMember[] = [];
    const left: Cast['left'] = [];
    for (const [i, result] of results.entries()) {
      const source = { label: sources[i]!.label, photo: photos[i]! };
      if (!result.embedding || !result.quality) {
        unusable.push(source);
        left.push({ label: source.label, why: `no usable face (${result.state})` });
        continue;
      }
      const { yaw, detection_score: score, flags } = result.quality;
      if (flags && flags.length > 0) {
        left.push({ label: source.label, why: `a low-quality face (${flags.join(', ')})` });
        continue;
      }
      if (Math.abs(yaw) > MAX_CAST_YAW || score < MIN_CAST_SCORE) {
        left.push({ label: source.label, why: `not frontal enough (yaw ${yaw}, detection score ${score})` });
        continue;
      }
      const near = members.find(
        (member) => faceDistance(member.embedding, result.embedding!, metric) < samePersonThreshold * LOOKALIKE_MARGIN,
      );
      if (near) {
        const d = faceDistance(near.embedding, result.embedding, metric);
        left.push({ label: source.label, why: `looks like ${near.label} to the model (distance ${d.toFixed(2)})` });
        continue;
      }
      members.push({ ...source, embedding: result.embedding });
    }
    return { members: members.map(({ label, photo }) => ({ label, photo })), unusable, left };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

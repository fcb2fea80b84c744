import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, round } from './env.js';

/** What one reference process is asked to do. */
export interface ReferenceTask {
  files: string[];
  maxSide: number;
  allowCpuBackend: boolean;
}

/** What one reference process did, from the moment every process was ready. */
export interface ReferenceShare {
  photos: number;
  faces: number;
  seconds: number;
  cpu_s: number;
}

/** face-api's reference pipeline over the same photos, as many processes as the workers. */
export interface ReferenceResult {
  pipeline: string;
  processes: number;
  images: number;
  /** Faces face-api described, over all photos. */
  faces: number;
  seconds: number;
  images_per_s: number;
  cpu_ms_per_image: number;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'face-api-reference-worker.ts');

/**
 * Runs face-api's own pipeline (SSD, 68 landmarks, descriptor on tfjs, as it ships) over `files` in `processes`
 * child processes, each with a contiguous share, started together once every one has loaded and warmed up.
 */
export async function runFaceApiReference(
  files: readonly string[],
  processes: number,
  options: { maxSide: number; allowCpuBackend: boolean },
): Promise<ReferenceResult> {
  const per = Math.ceil(files.length / processes);
  const shares = Array.from({ length: processes }, (_, i) => files.slice(i * per, (i + 1) * per));
  const children = shares.map((share) => {
    const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 2, 2, 'ipc'] });
    const exited = new Promise<never>((_resolve, reject) =>
      child.once('exit', (code) => reject(new Error(`the face-api reference process exited with ${code}`))),
    );
    // Each process exits after its last message: that rejection matters only while a message is awaited.
    exited.catch(() => undefined);
    const message = () => Promise.race([new Promise<unknown>((resolve) => child.once('message', resolve)), exited]);
    const task: ReferenceTask = { files: share, ...options };
    child.send(task);
    return { child, message };
  });
  try {
    await Promise.all(children.map(({ message }) => message()));
    log(`face-api reference: ${processes} processes ready; ${files.length} photos`);
    const results = children.map(({ message }) => message() as Promise<ReferenceShare>);
    for (const { child } of children) child.send('go');
    const done = await Promise.all(results);
    const images = done.reduce((sum, share) => sum + share.photos, 0);
    const seconds = Math.max(...done.map((share) => share.seconds));
    const cpu = done.reduce((sum, share) => sum + share.cpu_s, 0);
    return {
      pipeline: 'face-api as shipped: SSD MobileNetV1 (default options), 68 landmarks, descriptor; tfjs',
      processes,
      images,
      faces: done.reduce((sum, share) => sum + share.faces, 0),
      seconds: round(seconds, 2),
      images_per_s: round(images / seconds, 2),
      cpu_ms_per_image: round((cpu * 1000) / Math.max(1, images), 1),
    };
  } finally {
    for (const { child } of children) if (child.exitCode === null) child.kill();
  }
}

/**
 * Child process of the faces bench (lib/face-api-reference.ts): runs face-api's reference pipeline over the
 * photos it is sent, the way a worker would (read, decode as the face pipeline does, then face-api).
 *
 * Messages: in `{ files, maxSide, allowCpuBackend }`; out `{ ready: true }` once the models are loaded and warm
 * (the first photo, untimed); in `'go'`; out the {@link ReferenceShare} of its photos.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { FaceApiReference } from '../../src/repositories/face-engine/face-api-reference.repository.js';
import { ImageRepository } from '../../src/repositories/image.repository.js';
import type { ReferenceShare, ReferenceTask } from './lib/face-api-reference.js';

/** The decoder's pixel cap: as the worker's default, far above any bench photo. */
const MAX_PIXELS = 100_000_000;

process.once('message', (task: ReferenceTask) => {
  void run(task).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`face-api reference failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});

async function run(task: ReferenceTask): Promise<void> {
  const reference = await FaceApiReference.create({ allowCpuBackend: task.allowCpuBackend });
  const images = new ImageRepository(os.tmpdir(), MAX_PIXELS);
  const analyse = async (file: string) =>
    reference.describeFaces((await images.decode(await readFile(file), task.maxSide)).image);
  // The first inference of each net compiles its kernels: not part of the rate, as for the workers.
  if (task.files[0]) await analyse(task.files[0]);
  await new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send!({ ready: true });
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  let faces = 0;
  for (const file of task.files) faces += await analyse(file);
  const used = process.cpuUsage(cpu);
  const share: ReferenceShare = {
    photos: task.files.length,
    faces,
    seconds: (performance.now() - started) / 1000,
    cpu_s: (used.user + used.system) / 1e6,
  };
  await new Promise<void>((resolve) => process.send!(share, () => resolve()));
}

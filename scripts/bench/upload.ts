/**
 * Upload bench: "Stream the upload: memory stays bounded (a 500 MB zip must not raise the server's RSS by more
 * than ~200 MB)".
 *
 *   npm run -s bench -- upload [--mb 500] [--form zip|multipart|both]
 *
 * Generates distinct KYC-sized JPEGs (900x1200, ~200-400 KB) until they total `--mb` MiB, one valid manifest row
 * per photo, and a stored (not deflated) zip of them. For each form, a fresh API server runs in a child process
 * (`upload-server.ts`) with its own data dir; after a tiny warm-up upload and a forced GC its RSS is the baseline,
 * then the whole batch is streamed from disk to POST /v1/batches and the child's peak RSS is read back.
 */
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import yazl from 'yazl';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { migrate } from '../../src/repositories/database.js';
import { createBenchEnv, log, MIB, round, type BenchEnv } from './lib/env.js';
import { choiceOption, numberOption } from './lib/options.js';
import { startServerChild, type MemoryReport, type MemorySnapshot } from './lib/server-child.js';

const TARGET_DELTA_MB = 200;
const FORMS = ['zip', 'multipart'] as const;
type Form = (typeof FORMS)[number];

const SERVER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'upload-server.ts');
const OPERATOR_CODE = 'BENCH';

export interface UploadFormResult {
  form: Form;
  upload_mb: number;
  photos: number;
  rows: number;
  seconds: number;
  mb_per_s: number;
  accepted: number;
  rejected: number;
  server_rss_baseline_mb: number;
  server_rss_peak_mb: number;
  server_rss_delta_mb: number;
  target_delta_mb: number;
  /** 202, every row accepted, and the RSS delta within the target. */
  pass: boolean;
  http_status: number;
  /** Peak RSS as sampled every 50 ms and as the kernel recorded it (VmHWM); the peak above is the larger. */
  server_rss_peak_sampled_mb: number;
  server_rss_peak_kernel_mb: number | null;
  /** Each `process.memoryUsage()` field at its own peak during the upload, and all fields when RSS peaked. */
  server_mem_peaks_mb: MemoryMb;
  server_mem_at_peak_rss_mb: MemoryMb;
  server_mem_baseline_mb: MemoryMb;
  /** Problem body when the upload was not accepted. */
  error?: unknown;
}

export interface UploadBenchResult {
  bench: 'upload';
  target_mb: number;
  forms: UploadFormResult[];
}

interface MemoryMb {
  rss: number;
  heap_total: number;
  heap_used: number;
  external: number;
  array_buffers: number;
}

interface Photo {
  name: string;
  path: string;
  bytes: number;
}

/** The files of one batch, in both upload forms. */
interface BatchFiles {
  photos: Photo[];
  rows: number;
  manifestPath: string;
  zipPath: string;
  photoBytes: number;
}

interface Options {
  mb: number;
  forms: Form[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: { mb: { type: 'string', default: '500' }, form: { type: 'string', default: 'both' } },
    strict: true,
    allowPositionals: false,
  });
  // MiB of photos; a fraction is fine, zero is not.
  const mb = numberOption('mb', values.mb, 0.01, 4000);
  const form = choiceOption('form', values.form, [...FORMS, 'both']);
  return { mb, forms: form === 'both' ? [...FORMS] : [form] };
}

export async function run(argv: string[]): Promise<UploadBenchResult> {
  const options = parseOptions(argv);
  const env = await createBenchEnv('upload');
  try {
    const started = performance.now();
    log(`generating ${options.mb} MiB of photos in ${env.rootDir}`);
    const photos = await generatePhotos(path.join(env.rootDir, 'photos'), options.mb * MIB);
    const batch = await writeBatch(path.join(env.rootDir, 'batch'), photos, 1);
    log(
      `${photos.length} photos, ${round(batch.photoBytes / MIB)} MiB (zip ${round((await stat(batch.zipPath)).size / MIB)} MiB)` +
        ` in ${round((performance.now() - started) / 1000)} s`,
    );
    const warmup = await writeBatch(path.join(env.rootDir, 'warmup'), await generateTinyPhotos(env.rootDir), 900_001);

    await migrate(env.databaseUrl);
    const key = await createOperatorKey(env);
    const forms: UploadFormResult[] = [];
    for (const form of options.forms) {
      forms.push(await measure(env, form, key, batch, warmup));
    }
    return { bench: 'upload', target_mb: options.mb, forms };
  } finally {
    await env.cleanup();
  }
}

// --- inputs -------------------------------------------------------------------------------------------------

const WIDTH = 900;
const HEIGHT = 1200;
/** Noise strengths of the base images: with a light blur they encode to ~230-370 KB at quality 90. */
const BASE_SIGMAS = [22, 26, 30, 34, 38, 42];
const STAMP = 96;

/**
 * Distinct JPEGs of a realistic KYC size until they total `targetBytes`. A few blurred-noise base images are
 * made once; photo `i` is its base with a block of pixels (placed and filled from `i`) rewritten, then encoded,
 * so every photo is a genuinely different image (and a different SHA-256) for the cost of one JPEG encode.
 */
async function generatePhotos(dir: string, targetBytes: number): Promise<Photo[]> {
  await mkdir(dir, { recursive: true });
  const bases = await Promise.all(
    BASE_SIGMAS.map((sigma) =>
      sharp({
        create: {
          width: WIDTH,
          height: HEIGHT,
          channels: 3,
          background: '#808080',
          noise: { type: 'gaussian', mean: 128, sigma },
        },
      })
        .blur(1)
        .raw()
        .toBuffer(),
    ),
  );
  const photos: Photo[] = [];
  let total = 0;
  let next = 1;
  let reported = 0;
  while (total < targetBytes) {
    const wave = await Promise.all(Array.from({ length: 4 }, () => makePhoto(dir, next++, bases)));
    for (const photo of wave) {
      photos.push(photo);
      total += photo.bytes;
    }
    if (total - reported >= 100 * MIB) {
      reported = total;
      log(`  ${photos.length} photos, ${round(total / MIB)} MiB`);
    }
  }
  return photos;
}

async function makePhoto(dir: string, index: number, bases: readonly Buffer[]): Promise<Photo> {
  const pixels = Buffer.from(bases[index % bases.length]!);
  let state = index * 2_654_435_761 + 1;
  const random = () => {
    // xorshift32: cheap, deterministic per photo
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const left = random() % (WIDTH - STAMP);
  const top = random() % (HEIGHT - STAMP);
  for (let y = top; y < top + STAMP; y++) {
    for (let x = left; x < left + STAMP; x++) {
      const offset = (y * WIDTH + x) * 3;
      const value = random();
      pixels[offset] = value & 0xff;
      pixels[offset + 1] = (value >>> 8) & 0xff;
      pixels[offset + 2] = (value >>> 16) & 0xff;
    }
  }
  const jpeg = await sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const name = `kyc_${String(index).padStart(6, '0')}.jpg`;
  const file = path.join(dir, name);
  await writeFile(file, jpeg);
  return { name, path: file, bytes: jpeg.length };
}

/** Two small photos for the warm-up upload, which loads every code path before the baseline is taken. */
async function generateTinyPhotos(rootDir: string): Promise<Photo[]> {
  const dir = path.join(rootDir, 'warmup-photos');
  await mkdir(dir, { recursive: true });
  return Promise.all(
    [1, 2].map(async (n) => {
      const jpeg = await sharp({
        create: { width: 120, height: 160, channels: 3, background: { r: 40 * n, g: 200 - 30 * n, b: 90 } },
      })
        .jpeg()
        .toBuffer();
      const name = `warmup_${n}.jpg`;
      await writeFile(path.join(dir, name), jpeg);
      return { name, path: path.join(dir, name), bytes: jpeg.length };
    }),
  );
}

/** The manifest (one valid row per photo, subscribers numbered from `firstRow`) and a stored zip of it all. */
async function writeBatch(dir: string, photos: Photo[], firstRow: number): Promise<BatchFiles> {
  await mkdir(dir, { recursive: true });
  const manifest = Buffer.from(manifestCsv(photos.map((photo, index) => sampleRow(firstRow + index, photo.name))));
  const manifestPath = path.join(dir, 'manifest.csv');
  await writeFile(manifestPath, manifest);
  const zip = new yazl.ZipFile();
  zip.addBuffer(manifest, 'manifest.csv', { compress: false });
  // JPEGs do not deflate: store them, as a real operator's export would.
  for (const photo of photos) zip.addFile(photo.path, `photos/${photo.name}`, { compress: false });
  zip.end();
  const zipPath = path.join(dir, 'batch.zip');
  await pipeline(zip.outputStream, createWriteStream(zipPath));
  return {
    photos,
    rows: photos.length,
    manifestPath,
    zipPath,
    photoBytes: photos.reduce((sum, photo) => sum + photo.bytes, 0),
  };
}

async function createOperatorKey(env: BenchEnv): Promise<string> {
  const config = loadConfig(env.serverEnv());
  // A silent logger: pino would write to stdout, which carries the result JSON.
  const container = createContainer(config, { warn: () => undefined });
  try {
    await container.auth.createOperator(OPERATOR_CODE, 'Bench Telecom', 'bench', null);
    const created = await container.auth.createKey({
      role: 'operator',
      operatorCode: OPERATOR_CODE,
      label: 'upload bench',
      actor: 'bench',
      actorKeyId: null,
    });
    return created.key;
  } finally {
    await container.close();
  }
}

// --- measurement --------------------------------------------------------------------------------------------

interface UploadResponse {
  status: number;
  body: unknown;
  bytes: number;
}

/** POSTs a batch with its files streamed from disk (blobs backed by files), as the CLI's `upload` does. */
async function upload(url: string, key: string, form: Form, batch: BatchFiles): Promise<UploadResponse> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  let body: Blob | FormData;
  let bytes: number;
  if (form === 'zip') {
    const zip = await openAsBlob(batch.zipPath);
    body = zip;
    bytes = zip.size;
    headers['content-type'] = 'application/zip';
  } else {
    const formData = new FormData();
    const manifest = await openAsBlob(batch.manifestPath);
    formData.append('manifest', manifest, 'manifest.csv');
    bytes = manifest.size;
    for (const photo of batch.photos) {
      const blob = await openAsBlob(photo.path);
      formData.append(photo.name, blob, photo.name);
      bytes += blob.size;
    }
    body = formData;
  }
  const response = await fetch(new URL('/v1/batches', url), { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, bytes };
}

const toMb = (bytes: number) => round(bytes / MIB);
const memoryMb = (snapshot: MemorySnapshot): MemoryMb => ({
  rss: toMb(snapshot.rss),
  heap_total: toMb(snapshot.heapTotal),
  heap_used: toMb(snapshot.heapUsed),
  external: toMb(snapshot.external),
  array_buffers: toMb(snapshot.arrayBuffers),
});

function counts(body: unknown): { accepted: number; rejected: number } {
  const result = body as { accepted?: unknown; rejected?: unknown } | null;
  return {
    accepted: typeof result?.accepted === 'number' ? result.accepted : 0,
    rejected: typeof result?.rejected === 'number' ? result.rejected : 0,
  };
}

async function measure(
  env: BenchEnv,
  form: Form,
  key: string,
  batch: BatchFiles,
  warmup: BatchFiles,
): Promise<UploadFormResult> {
  // A fresh server and data dir per form: each starts from the same baseline and stores every photo anew.
  const dataDir = path.join(env.rootDir, `data-${form}`);
  const server = await startServerChild(
    SERVER_ENTRY,
    env.serverEnv(dataDir, {
      SIMSIFT_MAX_UPLOAD_BYTES: String(2 * 1024 * MIB),
      SIMSIFT_MAX_ROWS_PER_BATCH: String(Math.max(50_000, batch.rows + 10)),
    }),
  );
  env.onCleanup(() => server.stop());
  try {
    const warm = await upload(server.url, key, form, warmup);
    if (warm.status !== 202) {
      throw new Error(`warm-up ${form} upload failed: HTTP ${warm.status} ${JSON.stringify(warm.body)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baseline: MemoryReport = await server.resetPeak();
    log(`${form}: server pid ${server.pid} baseline RSS ${toMb(baseline.now.rss)} MiB; uploading`);

    const started = performance.now();
    const response = await upload(server.url, key, form, batch);
    const seconds = (performance.now() - started) / 1000;
    const after = await server.memory();

    const sampledPeak = after.peak.rss;
    const peak = Math.max(sampledPeak, after.kernelPeakRss ?? 0);
    const delta = peak - baseline.now.rss;
    const { accepted, rejected } = counts(response.body);
    const pass = response.status === 202 && accepted === batch.rows && rejected === 0 && delta <= TARGET_DELTA_MB * MIB;
    log(
      `${form}: HTTP ${response.status} in ${round(seconds)} s, accepted ${accepted}, rejected ${rejected},` +
        ` RSS +${toMb(delta)} MiB (peak ${toMb(peak)} MiB)`,
    );
    return {
      form,
      upload_mb: toMb(response.bytes),
      photos: batch.photos.length,
      rows: batch.rows,
      seconds: round(seconds, 2),
      mb_per_s: round(response.bytes / MIB / seconds),
      accepted,
      rejected,
      server_rss_baseline_mb: toMb(baseline.now.rss),
      server_rss_peak_mb: toMb(peak),
      server_rss_delta_mb: toMb(delta),
      target_delta_mb: TARGET_DELTA_MB,
      pass,
      http_status: response.status,
      server_rss_peak_sampled_mb: toMb(sampledPeak),
      server_rss_peak_kernel_mb: after.kernelPeakRss === null ? null : toMb(after.kernelPeakRss),
      server_mem_peaks_mb: memoryMb(after.peak),
      server_mem_at_peak_rss_mb: memoryMb(after.atPeakRss),
      server_mem_baseline_mb: memoryMb(baseline.now),
      ...(response.status === 202 ? {} : { error: response.body }),
    };
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

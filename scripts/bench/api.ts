/**
 * API bench: "no errors, and p99 of GET /v1/batches/:id under 50 ms at 200 concurrent connections".
 *
 * `npm run -s bench -- api [--seconds 10] [--connections 200] [--upload-every-ms 250]`
 *
 * The API runs alone in a child process (upload-server.ts) on loopback with its own database and queues. One
 * batch is uploaded first; then autocannon reads it with `--connections` connections for `--seconds` while a
 * side loop keeps uploading small batches (nothing consumes the queue: no face workers run). Prints requests/s,
 * latency percentiles, errors and non-2xx answers of the reads, the uploads' statuses, and the server's RSS.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { manifestCsv, sampleRow } from '../../src/cli/sample-batch.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { migrate } from '../../src/repositories/database.js';
import { createBenchEnv, log, round } from './lib/env.js';
import { startServerChild } from './lib/server-child.js';

const SERVER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'upload-server.ts');
const TARGET_P99_MS = 50;

// 256 distinct photos (one per red level), encoded once before the timed phase: the load generator shares the
// 2 cores with the server, and encoding during the run would be load that is not the server's.
const tinyJpegs = new Map<number, Promise<Buffer>>();
function tinyJpeg(seed: number): Promise<Buffer> {
  const red = seed % 256;
  let jpeg = tinyJpegs.get(red);
  if (!jpeg) {
    jpeg = sharp({ create: { width: 64, height: 64, channels: 3, background: { r: red, g: 40, b: 90 } } })
      .jpeg()
      .toBuffer();
    tinyJpegs.set(red, jpeg);
  }
  return jpeg;
}

async function upload(url: string, key: string, first: number, rows: number): Promise<{ status: number; id?: string }> {
  const form = new FormData();
  const list = Array.from({ length: rows }, (_, i) => sampleRow(first + i, `p${first + i}.jpg`));
  form.append('manifest', new Blob([manifestCsv(list)]), 'manifest.csv');
  for (const row of list) {
    form.append(
      row.photo,
      new Blob([new Uint8Array(await tinyJpeg(first + Number(row.photo.slice(1, -4))))]),
      row.photo,
    );
  }
  const response = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const body = (await response.json()) as { batch_id?: string };
  return { status: response.status, id: body.batch_id };
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string', default: '10' },
      connections: { type: 'string', default: '200' },
      'upload-every-ms': { type: 'string', default: '250' },
    },
  });
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const uploadEveryMs = Number(values['upload-every-ms']);
  const env = await createBenchEnv('api');
  try {
    await migrate(env.databaseUrl);
    const config = loadConfig(env.serverEnv());
    const container = createContainer(config, { warn: () => undefined });
    let key: string;
    try {
      await container.auth.createOperator('BENCH', 'Bench Telecom', 'bench', null);
      key = (
        await container.auth.createKey({
          role: 'operator',
          operatorCode: 'BENCH',
          label: 'api bench',
          actor: 'bench',
          actorKeyId: null,
        })
      ).key;
    } finally {
      await container.close();
    }
    const server = await startServerChild(SERVER_ENTRY, env.serverEnv(undefined, { LOG_LEVEL: 'warn' }));
    env.onCleanup(() => server.stop());
    const seed = await upload(server.url, key, 1, 20);
    if (seed.status !== 202 || !seed.id) throw new Error(`seed upload failed: HTTP ${seed.status}`);
    log(`server pid ${server.pid}; reading /v1/batches/${seed.id} with ${connections} connections for ${seconds} s`);
    await Promise.all(Array.from({ length: 256 }, (_, red) => tinyJpeg(red)));
    await server.resetPeak();

    // Uploads alongside the reads: one small batch at a time, so the reads compete with real ingest work.
    const uploads: Record<string, number> = {};
    let uploading = true;
    const uploader = (async () => {
      for (let n = 1_000; uploading; n += 10) {
        const started = performance.now();
        const result = await upload(server.url, key, n, 5).catch(() => ({ status: 0 }));
        uploads[result.status] = (uploads[result.status] ?? 0) + 1;
        const wait = uploadEveryMs - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    const result = await autocannon({
      url: `${server.url}/v1/batches/${seed.id}`,
      headers: { authorization: `Bearer ${key}` },
      connections,
      duration: seconds,
    });
    uploading = false;
    await uploader;
    const memory = await server.memory();
    const p99 = result.latency.p99;
    return {
      bench: 'api',
      route: 'GET /v1/batches/:id',
      connections,
      seconds,
      requests_per_second: round(result.requests.average, 0),
      requests_total: result.requests.total,
      latency_ms: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99,
        max: result.latency.max,
      },
      errors: result.errors,
      timeouts: result.timeouts,
      non_2xx: result.non2xx,
      uploads_by_status: uploads,
      server_rss_mb: round(memory.now.rss / 1024 / 1024),
      server_peak_rss_mb: round(Math.max(memory.peak.rss, memory.kernelPeakRss ?? 0) / 1024 / 1024),
      target_p99_ms: TARGET_P99_MS,
      ok: result.errors === 0 && result.timeouts === 0 && result.non2xx === 0 && p99 < TARGET_P99_MS,
    };
  } finally {
    await env.cleanup();
  }
}

/**
 * Pre-activation check bench: `npm run -s bench -- checks [--checks N]`.
 *
 * Starts the API and a cluster worker (which answers checks) in this process against a private database,
 * seeds a small gallery through the real face pipeline (portraits cut from the npm-shipped sample photos,
 * with a planted ring), then sends N checks one after another, as a shop would, and reports the latency
 * the client sees. The 1:N search itself is measured at gallery scale by the cluster bench.
 */
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/app.js';
import { runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { loadConfig } from '../../src/config.js';
import { createContainer } from '../../src/container.js';
import { runFaceWorker } from '../../workers/face-worker-runtime.js';
import { createLogger } from '../../src/logger.js';
import { migrate } from '../../src/repositories/database.js';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { ALL_SAMPLE_FACES, portrait } from '../../src/demo/sample-portraits.js';
import { createBenchEnv, log, round } from './lib/env.js';
import { integerOption } from './lib/options.js';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function run(argv: string[]): Promise<object> {
  const { values } = parseArgs({
    args: argv,
    options: { checks: { type: 'string', default: '30' } },
    strict: true,
    allowPositionals: false,
  });
  const checks = integerOption('checks', values.checks, 1, 100_000);
  const env = await createBenchEnv('checks');
  try {
    const config = loadConfig(env.serverEnv(undefined, { SIMSIFT_CHECK_TIMEOUT_MS: '60000' }));
    await migrate(config.databaseUrl);
    const logger = createLogger({ logLevel: 'warn' });
    const container = createContainer(config, logger);
    const app = await buildApp({ container, logger });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    env.onCleanup(async () => {
      await app.close();
      await container.close();
    });
    const faces = await runFaceWorker(config, logger);
    env.onCleanup(() => faces.close());
    const clusters = await runClusterWorker(config, logger);
    env.onCleanup(() => clusters.close());
    await container.auth.createOperator('JIO', 'JIO', 'bench', null);
    // An analyst key: its answers carry the worker's own time (`detail.seconds`), which the bench reports.
    const { key } = await container.auth.createKey({ role: 'analyst', actor: 'bench', actorKeyId: null });

    // Gallery: one portrait of each sample person, plus a ring (one face under three names).
    const people = ALL_SAMPLE_FACES.slice(1);
    const gallery = [
      ...(await Promise.all([0, 1, 2].map((v) => portrait(...ALL_SAMPLE_FACES[0]!, v)))),
      ...(await Promise.all(people.map(([sample, index]) => portrait(sample, index, 0)))),
    ];
    const form = new FormData();
    form.append('manifest', new Blob([manifestCsv(gallery.map((_, i) => sampleRow(i + 1, `p${i}.jpg`)))]), 'm.csv');
    gallery.forEach((bytes, i) => form.append(`p${i}.jpg`, new Blob([new Uint8Array(bytes)]), `p${i}.jpg`));
    const upload = await fetch(`${url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    const { batch_id: batchId } = (await upload.json()) as { batch_id: string };
    log(`seeding ${gallery.length} faces`);
    for (;;) {
      const response = await fetch(`${url}/v1/batches/${batchId}`, { headers: { authorization: `Bearer ${key}` } });
      if (((await response.json()) as { state: string }).state === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const probes = [
      ...(await Promise.all([3, 4].map((v) => portrait(...ALL_SAMPLE_FACES[0]!, v)))),
      ...(await Promise.all(people.map(([sample, index]) => portrait(sample, index, 1)))),
    ];
    const send = async (i: number) => {
      const body = new FormData();
      for (const [name, value] of Object.entries(sampleRow(1000 + i, 'photo')))
        if (name !== 'photo') body.append(name, value);
      body.append('photo', new Blob([new Uint8Array(probes[i % probes.length]!)]), 'photo.jpg');
      const started = performance.now();
      const response = await fetch(`${url}/v1/checks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body,
      });
      const result = (await response.json()) as { detail?: { seconds: number }; reasons: string[] };
      if (response.status !== 200) throw new Error(`check failed: ${response.status} ${JSON.stringify(result)}`);
      return {
        ms: performance.now() - started,
        workerMs: (result.detail?.seconds ?? NaN) * 1000,
        flagged: result.reasons.length > 0,
      };
    };
    log('warming up (the first check may wait for the face models)');
    const firstMs = (await send(0)).ms;
    const results = [];
    for (let i = 1; i <= checks; i++) results.push(await send(i));
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    const worker = results.map((r) => r.workerMs).sort((a, b) => a - b);
    return {
      checks,
      gallery_faces: gallery.length,
      first_check_ms: round(firstMs),
      latency_ms: {
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        max: round(latencies.at(-1)!),
      },
      worker_ms: { p50: round(percentile(worker, 50)), p95: round(percentile(worker, 95)) },
      flagged_checks: results.filter((r) => r.flagged).length,
      target: 'answer within 1 s',
    };
  } finally {
    await env.cleanup();
  }
}

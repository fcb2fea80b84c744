import { isFinalRecordState } from '../services/record-states.js';
import type { ApiClient, Batch } from './api-client.js';
import { CliError, EXIT } from './cli-errors.js';
import { progressBar } from './progress.js';

/** Records of a batch that reached a final state (a face, or the reason there is none). */
export function processedRecords(batch: Pick<Batch, 'counts'>): number {
  return Object.entries(batch.counts).reduce((sum, [state, n]) => sum + (isFinalRecordState(state) ? n : 0), 0);
}

/** One line per record state with records in it, e.g. `  face_ready        212`. */
export function formatCounts(batch: Pick<Batch, 'counts'>): string[] {
  return Object.entries(batch.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `  ${state.padEnd(18)}${n}`);
}

/**
 * Follows a batch through the face pipeline with a progress bar, polling GET /v1/batches/:id until it is
 * completed (or `timeoutMs` passes: exit 1).
 */
export async function followBatch(
  client: ApiClient,
  batchId: string,
  { intervalMs = 1_000, timeoutMs = 30 * 60_000 }: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<Batch> {
  const get = () => client.get('/v1/batches/{id}', { params: { path: { id: batchId } } });
  let batch = await get();
  if (batch.state === 'completed') return batch;
  const bar = progressBar('processing', batch.accepted, 'records');
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      bar.update(processedRecords(batch));
      if (batch.state === 'completed') return batch;
      if (Date.now() > deadline) {
        throw new CliError(`batch ${batchId} is still processing after ${Math.round(timeoutMs / 1000)} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      batch = await get();
    }
  } finally {
    bar.stop();
  }
}

/** `simsift status <batch>`: live progress, then the records per state. */
export async function runStatus(
  client: ApiClient,
  batchId: string,
  options: { wait: boolean; json: boolean; timeoutSeconds?: number },
): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(batchId)) throw new CliError(`"${batchId}" is not a batch id (a UUID)`, EXIT.usage);
  const batch = options.wait
    ? await followBatch(client, batchId, { timeoutMs: (options.timeoutSeconds ?? 1800) * 1000 })
    : await client.get('/v1/batches/{id}', { params: { path: { id: batchId } } });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(batch)}\n`);
    return;
  }
  const lines = [
    `batch ${batch.id} (${batch.operator}, ${batch.source}): ${batch.state}, ${Math.round(batch.progress * 100)}%`,
    `  rows ${batch.total_rows}: ${batch.accepted} accepted, ${batch.rejected} rejected`,
    ...formatCounts(batch),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

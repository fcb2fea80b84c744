import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';

export interface UploadResult {
  batch_id: string;
  accepted: number;
  rejected: number;
  errors: { row: number; field: string; code: string; message: string }[];
}

/** Uploads one multipart batch: one subscriber row per photo, rows numbered from `firstSubscriber`. */
export async function uploadPhotos(
  url: string,
  key: string,
  photos: Buffer[],
  firstSubscriber = 1,
): Promise<UploadResult> {
  const form = new FormData();
  const rows = photos.map((_, i) => sampleRow(firstSubscriber + i, `photo-${i}.img`));
  form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
  photos.forEach((bytes, i) => form.append(`photo-${i}.img`, new Blob([new Uint8Array(bytes)]), `photo-${i}.img`));
  const response = await fetch(`${url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  if (response.status !== 202) throw new Error(`upload failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as UploadResult;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Records of a batch counted by state, straight from Postgres. */
export async function recordStateCounts(
  pool: { query: <R>(text: string, values: unknown[]) => Promise<{ rows: R[] }> },
  batchId: string,
): Promise<Record<string, number>> {
  const result = await pool.query<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM kyc_records WHERE batch_id = $1::uuid GROUP BY state',
    [batchId],
  );
  return Object.fromEntries(result.rows.map((r) => [r.state, r.n]));
}

type Queryable = Parameters<typeof recordStateCounts>[0];

/** Waits until no record of the batch is queued or waiting any more; resolves to its records counted by state. */
export function waitForFinalStates(
  pool: Queryable,
  batchId: string,
  timeoutMs: number,
  what = 'every record to reach a final state',
): Promise<Record<string, number>> {
  return waitFor(
    async () => {
      const counts = await recordStateCounts(pool, batchId);
      return (counts.queued ?? 0) + (counts.waiting ?? 0) === 0 ? counts : undefined;
    },
    timeoutMs,
    what,
  );
}

/** Faces of the batch that no cluster holds yet. */
export function unclusteredFaces(env: { count(from: string, values?: unknown[]): Promise<number> }, batchId: string) {
  return env.count(
    `faces f JOIN kyc_records r ON r.id = f.record_id
     LEFT JOIN cluster_members m ON m.face_id = f.id WHERE r.batch_id = $1::uuid AND m.face_id IS NULL`,
    [batchId],
  );
}

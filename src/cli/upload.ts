import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AppError } from '../services/errors.js';
import type { ApiData } from './api-client.js';
import { ServiceUnreachableError } from './cli-errors.js';

/** The body of an accepted upload (202), as the OpenAPI document types it. */
export type UploadResult = ApiData<'post', '/v1/batches'>;

export interface UploadOptions {
  url: string;
  key?: string;
  manifest?: string;
  photos?: string;
  zip?: string;
  operator?: string;
  idempotencyKey?: string;
  /** Called as the body goes out: bytes sent so far and the total (the files' sizes, without multipart framing). */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
}

/** Photo names listed in a manifest's `photo` column, so only the referenced files are sent. */
async function photoNames(manifestFile: string): Promise<string[]> {
  const rows: Record<string, string>[] = parse(await readFile(manifestFile), {
    columns: true,
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
  });
  return [...new Set(rows.map((row) => row.photo?.trim() ?? '').filter((name) => name !== ''))];
}

/**
 * Uploads a batch the way an operator's integration would: multipart (manifest + photos) or a zip. Files are
 * sent as blobs backed by disk, so a large batch is not read into memory.
 *
 * This is plain fetch, not the typed client (ApiClient): the body is streamed through a counter for the progress
 * bar (`duplex: 'half'`), which openapi-fetch's body serialisers do not do, and every answer is returned to the
 * caller (`simsift upload` prints rejections) rather than thrown. The 202 body is an {@link UploadResult}.
 */
export async function uploadBatch(options: UploadOptions): Promise<{ status: number; body: unknown }> {
  if (!options.key) throw new AppError(400, 'missing_key', 'pass --key or set SIMSIFT_API_KEY');
  const target = new URL('/v1/batches', options.url);
  if (options.operator) target.searchParams.set('operator', options.operator);
  const headers: Record<string, string> = { authorization: `Bearer ${options.key}` };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;

  let encoded: Response;
  let totalBytes = 0;
  if (options.zip) {
    const zip = await openAsBlob(options.zip);
    totalBytes = zip.size;
    encoded = new Response(zip, { headers: { 'content-type': 'application/zip' } });
  } else if (options.manifest && options.photos) {
    const form = new FormData();
    const manifest = await openAsBlob(options.manifest);
    form.append('manifest', manifest, 'manifest.csv');
    totalBytes += manifest.size;
    for (const name of await photoNames(options.manifest)) {
      const file = path.join(options.photos, name);
      try {
        const photo = await openAsBlob(file);
        form.append(name, photo, name);
        totalBytes += photo.size;
      } catch {
        // A missing photo is reported by the server for its rows; the rest of the batch still goes up.
      }
    }
    // Encoding through a Response gives the multipart body as a stream (and its boundary), so the bytes can be
    // counted on their way out for a progress bar.
    encoded = new Response(form);
  } else {
    throw new AppError(400, 'missing_input', 'pass --zip FILE, or --manifest FILE with --photos DIR');
  }
  headers['content-type'] = encoded.headers.get('content-type')!;
  let sentBytes = 0;
  const counted = encoded.body!.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sentBytes += chunk.byteLength;
        options.onProgress?.(Math.min(sentBytes, totalBytes), totalBytes);
        controller.enqueue(chunk);
      },
    }),
  );
  let response: Response;
  try {
    response = await fetch(target, { method: 'POST', headers, body: counted, duplex: 'half' });
  } catch (error) {
    throw new ServiceUnreachableError(
      'the simsift API',
      options.url,
      'start it with `simsift serve`, or pass --url (SIMSIFT_URL)',
      error,
    );
  }
  options.onProgress?.(totalBytes, totalBytes);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { AppError } from '../services/errors.js';

export interface UploadOptions {
  url: string;
  key?: string;
  manifest?: string;
  photos?: string;
  zip?: string;
  operator?: string;
  idempotencyKey?: string;
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
 */
export async function uploadBatch(options: UploadOptions): Promise<{ status: number; body: unknown }> {
  if (!options.key) throw new AppError(400, 'missing_key', 'pass --key or set SIMSIFT_API_KEY');
  const target = new URL('/v1/batches', options.url);
  if (options.operator) target.searchParams.set('operator', options.operator);
  const headers: Record<string, string> = { authorization: `Bearer ${options.key}` };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;

  let body: FormData | Blob;
  if (options.zip) {
    body = await openAsBlob(options.zip);
    headers['content-type'] = 'application/zip';
  } else if (options.manifest && options.photos) {
    const form = new FormData();
    form.append('manifest', await openAsBlob(options.manifest), 'manifest.csv');
    for (const name of await photoNames(options.manifest)) {
      const file = path.join(options.photos, name);
      try {
        form.append(name, await openAsBlob(file), name);
      } catch {
        // A missing photo is reported by the server for its rows; the rest of the batch still goes up.
      }
    }
    body = form;
  } else {
    throw new AppError(400, 'missing_input', 'pass --zip FILE, or --manifest FILE with --photos DIR');
  }
  const response = await fetch(target, { method: 'POST', headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

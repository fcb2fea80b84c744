import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ApiClient, ApiData } from './api-client.js';
import { CliError, EXIT } from './cli-errors.js';

export interface ExportOptions {
  operator: string;
  out?: string;
  format: 'csv' | 'json';
  status?: 'confirmed' | 'dismissed';
  since?: string;
  full?: boolean;
}

type ExportView = ApiData<'post', '/v1/exports'>;

/**
 * `simsift export`: creates an operator's block list through the API (POST /v1/exports), downloads it in the
 * chosen format, checks it against the sha256 the API recorded, and writes it to `out`.
 */
export async function runExport(
  client: ApiClient,
  options: ExportOptions,
): Promise<{ file: string; export: ExportView }> {
  if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
    throw new CliError(
      `--since must be an ISO date-time, e.g. 2025-06-01T00:00:00Z (got "${options.since}")`,
      EXIT.usage,
    );
  }
  const created = await client.post('/v1/exports', {
    body: {
      operator: options.operator.toUpperCase(),
      ...(options.status ? { status: options.status } : {}),
      ...(options.since ? { since: new Date(options.since).toISOString() } : {}),
      ...(options.full ? { full: true } : {}),
    },
  });
  const content = Buffer.from(
    await client.get('/v1/exports/{id}/download', {
      params: { path: { id: created.id }, query: { format: options.format } },
      parseAs: 'arrayBuffer',
    }),
  );
  const expected = options.format === 'csv' ? created.csvSha256 : created.jsonSha256;
  const actual = createHash('sha256').update(content).digest('hex');
  if (expected && actual !== expected) {
    throw new CliError(`export ${created.id}: the download's sha256 ${actual} differs from the recorded ${expected}`);
  }
  const file = path.resolve(options.out ?? `simsift-export-${created.operator}-${created.id}.${options.format}`);
  await writeFile(file, content);
  return { file, export: created };
}

import type { BatchRow, KycRecordRow, RowError } from '../repositories/batch.repository.js';
import type { Principal } from './auth.service.js';
import { AppError, notFound } from './errors.js';
import { RECORD_STATES, isFinalRecordState } from './record-states.js';

export interface BatchView {
  id: string;
  operator: string;
  source: string;
  /** `processing` while any record awaits the face pipeline, then `completed`. */
  state: 'processing' | 'completed';
  total_rows: number;
  accepted: number;
  rejected: number;
  counts: Record<string, number>;
  /** Share of accepted records that reached a final state, 0..1. */
  progress: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface BatchReader {
  findById(batchId: string, operatorId: number | null): Promise<BatchRow | null>;
  list(operatorId: number | null, after: { createdAt: string; id: string } | null, limit: number): Promise<BatchRow[]>;
  listRecords(batchId: string, state: string | null, afterId: number | null, limit: number): Promise<KycRecordRow[]>;
  listErrors(batchId: string): Promise<RowError[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Read side of batches. Operators see only their own; another operator's batch is indistinguishable from none. */
export class BatchService {
  constructor(private readonly batches: BatchReader) {}

  async get(principal: Principal, batchId: string): Promise<BatchView> {
    return toView(await this.find(principal, batchId));
  }

  async list(principal: Principal, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor<{ createdAt: string; id: string }>(cursor) : null;
    if (
      after &&
      (typeof after.createdAt !== 'string' || Number.isNaN(Date.parse(after.createdAt)) || !UUID.test(after.id))
    ) {
      throw new AppError(400, 'invalid_cursor', 'the cursor is not valid');
    }
    const rows = await this.batches.list(scope(principal), after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toView),
      next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async listRecords(
    principal: Principal,
    batchId: string,
    state: string | undefined,
    cursor: string | undefined,
    limit: number,
  ) {
    await this.find(principal, batchId);
    if (state !== undefined && !(RECORD_STATES as readonly string[]).includes(state)) {
      throw new AppError(400, 'invalid_state', `state must be one of ${RECORD_STATES.join(', ')}`);
    }
    let afterId: number | null = null;
    if (cursor) {
      const { id } = decodeCursor<{ id: unknown }>(cursor);
      if (typeof id !== 'number' || !Number.isInteger(id)) {
        throw new AppError(400, 'invalid_cursor', 'the cursor is not valid');
      }
      afterId = id;
    }
    const rows = await this.batches.listRecords(batchId, state ?? null, afterId, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page,
      next_cursor: rows.length > limit && last ? encodeCursor({ id: last.id }) : null,
    };
  }

  async listErrors(principal: Principal, batchId: string): Promise<RowError[]> {
    await this.find(principal, batchId);
    return this.batches.listErrors(batchId);
  }

  private async find(principal: Principal, batchId: string): Promise<BatchRow> {
    if (!UUID.test(batchId)) throw notFound('batch');
    const batch = await this.batches.findById(batchId, scope(principal));
    if (!batch) throw notFound('batch');
    return batch;
  }
}

function scope(principal: Principal): number | null {
  return principal.role === 'operator' ? principal.operatorId : null;
}

function toView(batch: BatchRow): BatchView {
  const counts: Record<string, number> = {};
  for (const state of RECORD_STATES) counts[state] = 0;
  let finished = 0;
  for (const [state, count] of Object.entries(batch.stateCounts)) {
    counts[state] = count;
    if (isFinalRecordState(state)) finished += count;
  }
  const completed = finished >= batch.accepted;
  const updatedAt = batch.lastRecordUpdateAt ?? batch.createdAt;
  return {
    id: batch.id,
    operator: batch.operatorCode,
    source: batch.source,
    state: completed ? 'completed' : 'processing',
    total_rows: batch.totalRows,
    accepted: batch.accepted,
    rejected: batch.rejected,
    counts,
    progress: batch.accepted === 0 ? 1 : Math.round((finished / batch.accepted) * 10_000) / 10_000,
    created_at: batch.createdAt,
    updated_at: updatedAt,
    completed_at: completed ? updatedAt : null,
  };
}

function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decodeCursor<T>(cursor: string): T {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null) throw new Error('not an object');
    return value as T;
  } catch (error) {
    throw new AppError(400, 'invalid_cursor', 'the cursor is not valid', undefined, { cause: error });
  }
}

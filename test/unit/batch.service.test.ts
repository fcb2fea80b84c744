import { describe, it, expect } from 'vitest';
import type { BatchRow, KycRecordRow, RowError } from '../../src/repositories/batch.repository.js';
import type { Principal } from '../../src/services/auth.service.js';
import { BatchService } from '../../src/services/batch.service.js';
import type { BatchReader } from '../../src/services/batch.service.js';
import { RECORD_STATES } from '../../src/services/record-states.js';
import { appErrorFrom } from '../helpers/errors.js';

const BATCH_ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const OTHER_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

const OPERATOR: Principal = { keyId: 11, role: 'operator', operatorId: 42, operatorCode: 'JIO' };
const ANALYST: Principal = { keyId: 12, role: 'analyst', operatorId: null, operatorCode: null };
const ADMIN: Principal = { keyId: 13, role: 'admin', operatorId: null, operatorCode: null };

function batchRow(overrides: Partial<BatchRow> = {}): BatchRow {
  return {
    id: BATCH_ID,
    operatorId: 42,
    operatorCode: 'JIO',
    source: 'zip',
    totalRows: 5,
    accepted: 4,
    rejected: 1,
    createdAt: '2026-06-01 09:00:00.123456+00',
    lastRecordUpdateAt: '2026-06-01 09:05:00.5+00',
    stateCounts: { queued: 4 },
    ...overrides,
  };
}

function recordRow(id: number): KycRecordRow {
  return {
    id,
    rowNumber: id,
    msisdn: '+919876543210',
    name: 'Asha Rao',
    fatherName: null,
    dob: null,
    gender: null,
    idType: 'aadhaar',
    idMasked: 'XXXXXXXX2346',
    address: null,
    lsa: 'KA',
    posAgentId: 'POS-0001',
    activationDate: '2025-01-20',
    photoSha256: 'ab'.repeat(32),
    state: 'queued',
    stateDetail: null,
    createdAt: '2026-06-01 09:00:00+00',
    updatedAt: '2026-06-01 09:00:00+00',
  };
}

/** An in-memory reader that records every call, so tests can check scope, cursors and limits. */
class FakeReader implements BatchReader {
  batches: BatchRow[] = [batchRow()];
  records: KycRecordRow[] = [];
  errors: RowError[] = [];
  readonly calls: { method: string; args: unknown[] }[] = [];

  async findById(batchId: string, operatorId: number | null): Promise<BatchRow | null> {
    this.calls.push({ method: 'findById', args: [batchId, operatorId] });
    return (
      this.batches.find((batch) => batch.id === batchId && (operatorId === null || batch.operatorId === operatorId)) ??
      null
    );
  }

  async list(
    operatorId: number | null,
    after: { createdAt: string; id: string } | null,
    limit: number,
  ): Promise<BatchRow[]> {
    this.calls.push({ method: 'list', args: [operatorId, after, limit] });
    // Newest first, keyset on (createdAt, id); string comparison is enough for the fixed-format test data.
    const sorted = [...this.batches].sort((a, b) =>
      a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
    );
    return sorted
      .filter((batch) => operatorId === null || batch.operatorId === operatorId)
      .filter(
        (batch) =>
          !after ||
          batch.createdAt < after.createdAt ||
          (batch.createdAt === after.createdAt && batch.id.localeCompare(after.id) < 0),
      )
      .slice(0, limit);
  }

  async listRecords(batchId: string, state: string | null, afterId: number | null, limit: number) {
    this.calls.push({ method: 'listRecords', args: [batchId, state, afterId, limit] });
    return this.records
      .filter((record) => state === null || record.state === state)
      .filter((record) => afterId === null || record.id > afterId)
      .slice(0, limit);
  }

  async listErrors(batchId: string): Promise<RowError[]> {
    this.calls.push({ method: 'listErrors', args: [batchId] });
    return this.errors;
  }

  callsTo(method: string): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.args);
  }
}

function cursorOf(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

describe('BatchService: scope', () => {
  it('passes an operator principal its operatorId as scope', async () => {
    const reader = new FakeReader();
    const service = new BatchService(reader);
    await service.get(OPERATOR, BATCH_ID);
    await service.list(OPERATOR, undefined, 10);
    expect(reader.callsTo('findById')).toEqual([[BATCH_ID, 42]]);
    expect(reader.callsTo('list')).toEqual([[42, null, 11]]);
  });

  it('passes null as scope for analysts and admins', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ operatorId: 99, operatorCode: 'VI' })];
    const service = new BatchService(reader);
    expect((await service.get(ANALYST, BATCH_ID)).operator).toBe('VI');
    expect((await service.get(ADMIN, BATCH_ID)).operator).toBe('VI');
    await service.list(ADMIN, undefined, 5);
    expect(reader.callsTo('findById')).toEqual([
      [BATCH_ID, null],
      [BATCH_ID, null],
    ]);
    expect(reader.callsTo('list')).toEqual([[null, null, 6]]);
  });

  it("answers 404 not_found for another operator's batch", async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ operatorId: 99 })];
    const error = await appErrorFrom(new BatchService(reader).get(OPERATOR, BATCH_ID));
    expect(error.statusCode).toBe(404);
    expect(error.code).toBe('not_found');
  });

  it('answers 404 not_found for a non-UUID id without calling the reader', async () => {
    const reader = new FakeReader();
    const service = new BatchService(reader);
    for (const id of ['not-a-uuid', `${BATCH_ID}x`, "' OR 1=1 --", '']) {
      const error = await appErrorFrom(service.get(ADMIN, id));
      expect(error.statusCode).toBe(404);
      expect(error.code).toBe('not_found');
    }
    expect((await appErrorFrom(service.listRecords(ADMIN, 'nope', undefined, undefined, 10))).code).toBe('not_found');
    expect((await appErrorFrom(service.listErrors(ADMIN, 'nope'))).code).toBe('not_found');
    expect(reader.calls).toEqual([]);
  });

  it('accepts an upper-case UUID', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ id: BATCH_ID.toUpperCase() })];
    expect((await new BatchService(reader).get(ADMIN, BATCH_ID.toUpperCase())).id).toBe(BATCH_ID.toUpperCase());
  });
});

describe('BatchService.get: view', () => {
  it('is processing with progress from the final-state share while records are pending', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ accepted: 4, stateCounts: { face_ready: 1, no_face: 1, queued: 2 } })];
    const view = await new BatchService(reader).get(ADMIN, BATCH_ID);
    expect(view).toEqual({
      id: BATCH_ID,
      operator: 'JIO',
      source: 'zip',
      state: 'processing',
      total_rows: 5,
      accepted: 4,
      rejected: 1,
      counts: {
        waiting: 0,
        queued: 2,
        face_ready: 1,
        no_face: 1,
        multiple_faces: 0,
        face_too_small: 0,
        low_quality: 0,
        unreadable_image: 0,
      },
      progress: 0.5,
      created_at: '2026-06-01 09:00:00.123456+00',
      updated_at: '2026-06-01 09:05:00.5+00',
      completed_at: null,
    });
    expect(Object.keys(view.counts).sort()).toEqual([...RECORD_STATES].sort());
  });

  it('is completed with progress 1 and completed_at set once every record is final', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ accepted: 4, stateCounts: { face_ready: 2, no_face: 1, unreadable_image: 1 } })];
    const view = await new BatchService(reader).get(ADMIN, BATCH_ID);
    expect(view.state).toBe('completed');
    expect(view.progress).toBe(1);
    expect(view.completed_at).toBe('2026-06-01 09:05:00.5+00');
    expect(view.updated_at).toBe('2026-06-01 09:05:00.5+00');
  });

  it('counts waiting records as pending', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ accepted: 3, stateCounts: { waiting: 1, low_quality: 2 } })];
    const view = await new BatchService(reader).get(ADMIN, BATCH_ID);
    expect(view.state).toBe('processing');
    expect(view.progress).toBe(0.6667);
    expect(view.counts.waiting).toBe(1);
  });

  it('is completed with progress 1 when nothing was accepted, timestamped at creation', async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ totalRows: 2, accepted: 0, rejected: 2, stateCounts: {}, lastRecordUpdateAt: null })];
    const view = await new BatchService(reader).get(OPERATOR, BATCH_ID);
    expect(view.state).toBe('completed');
    expect(view.progress).toBe(1);
    expect(view.updated_at).toBe('2026-06-01 09:00:00.123456+00');
    expect(view.completed_at).toBe('2026-06-01 09:00:00.123456+00');
    expect(Object.values(view.counts).every((count) => count === 0)).toBe(true);
  });
});

describe('BatchService.list: keyset pagination', () => {
  function readerWith(count: number): FakeReader {
    const reader = new FakeReader();
    // Batch n was created n minutes after 09:00, so newest first is count..1.
    reader.batches = Array.from({ length: count }, (_, i) =>
      batchRow({ id: uuid(i + 1), createdAt: `2026-06-01 09:${String(i + 1).padStart(2, '0')}:00+00` }),
    );
    return reader;
  }

  it('asks for limit+1 rows and returns next_cursor only when more rows exist', async () => {
    const reader = readerWith(5);
    const service = new BatchService(reader);

    const first = await service.list(ADMIN, undefined, 2);
    expect(first.items.map((item) => item.id)).toEqual([uuid(5), uuid(4)]);
    expect(first.next_cursor).toEqual(expect.any(String));
    expect(reader.callsTo('list')[0]).toEqual([null, null, 3]);

    const second = await service.list(ADMIN, first.next_cursor!, 2);
    expect(second.items.map((item) => item.id)).toEqual([uuid(3), uuid(2)]);
    // The cursor round-trips to the last item's keyset position.
    expect(reader.callsTo('list')[1]).toEqual([null, { createdAt: '2026-06-01 09:04:00+00', id: uuid(4) }, 3]);

    const third = await service.list(ADMIN, second.next_cursor!, 2);
    expect(third.items.map((item) => item.id)).toEqual([uuid(1)]);
    expect(third.next_cursor).toBeNull();
  });

  it('returns no next_cursor when the page is exactly full', async () => {
    const service = new BatchService(readerWith(2));
    const page = await service.list(ADMIN, undefined, 2);
    expect(page.items).toHaveLength(2);
    expect(page.next_cursor).toBeNull();
  });

  it('rejects a garbage cursor with 400 invalid_cursor without calling the reader', async () => {
    const reader = readerWith(3);
    const service = new BatchService(reader);
    const badCursors = [
      'garbage!!',
      cursorOf('a string'),
      cursorOf(null),
      cursorOf({}),
      cursorOf({ createdAt: 'yesterday', id: uuid(1) }),
      cursorOf({ createdAt: '2026-06-01 09:00:00+00', id: 'not-a-uuid' }),
      cursorOf({ createdAt: 12, id: uuid(1) }),
    ];
    for (const cursor of badCursors) {
      const error = await appErrorFrom(service.list(ADMIN, cursor, 10));
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('invalid_cursor');
    }
    expect(reader.callsTo('list')).toEqual([]);
  });
});

describe('BatchService.listRecords', () => {
  function readerWithRecords(count: number): FakeReader {
    const reader = new FakeReader();
    reader.records = Array.from({ length: count }, (_, i) => ({
      ...recordRow(i + 1),
      state: i % 2 === 0 ? 'queued' : 'face_ready',
    }));
    return reader;
  }

  it('pages records by id with limit+1 and a round-tripping cursor', async () => {
    const reader = readerWithRecords(5);
    const service = new BatchService(reader);
    const first = await service.listRecords(OPERATOR, BATCH_ID, undefined, undefined, 3);
    expect(first.items.map((record) => record.id)).toEqual([1, 2, 3]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await service.listRecords(OPERATOR, BATCH_ID, undefined, first.next_cursor!, 3);
    expect(second.items.map((record) => record.id)).toEqual([4, 5]);
    expect(second.next_cursor).toBeNull();
    expect(reader.callsTo('listRecords')).toEqual([
      [BATCH_ID, null, null, 4],
      [BATCH_ID, null, 3, 4],
    ]);
    expect(reader.callsTo('findById')).toEqual([
      [BATCH_ID, 42],
      [BATCH_ID, 42],
    ]);
  });

  it('filters by a known state', async () => {
    const reader = readerWithRecords(4);
    const page = await new BatchService(reader).listRecords(ADMIN, BATCH_ID, 'face_ready', undefined, 10);
    expect(page.items.map((record) => record.id)).toEqual([2, 4]);
    expect(reader.callsTo('listRecords')).toEqual([[BATCH_ID, 'face_ready', null, 11]]);
  });

  it('rejects an unknown state filter with 400 invalid_state', async () => {
    const reader = readerWithRecords(2);
    const error = await appErrorFrom(new BatchService(reader).listRecords(ADMIN, BATCH_ID, 'done', undefined, 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('invalid_state');
    expect(reader.callsTo('listRecords')).toEqual([]);
  });

  it('rejects a garbage record cursor with 400 invalid_cursor', async () => {
    const reader = readerWithRecords(2);
    const service = new BatchService(reader);
    for (const cursor of [
      '%%%',
      cursorOf({ id: '3' }),
      cursorOf({ id: 1.5 }),
      cursorOf({}),
      cursorOf({ id: null }),
      cursorOf(7),
    ]) {
      const error = await appErrorFrom(service.listRecords(ADMIN, BATCH_ID, undefined, cursor, 10));
      expect(error.statusCode).toBe(400);
      expect(error.code).toBe('invalid_cursor');
    }
    expect(reader.callsTo('listRecords')).toEqual([]);
  });

  it("answers 404 for another operator's batch before looking at records", async () => {
    const reader = readerWithRecords(2);
    reader.batches = [batchRow({ operatorId: 99 })];
    const error = await appErrorFrom(new BatchService(reader).listRecords(OPERATOR, BATCH_ID, 'bogus', undefined, 10));
    expect(error.code).toBe('not_found');
    expect(reader.callsTo('listRecords')).toEqual([]);
  });
});

describe('BatchService.listErrors', () => {
  it("returns the batch's row errors", async () => {
    const reader = new FakeReader();
    reader.errors = [{ row: 2, field: 'msisdn', code: 'invalid_msisdn', message: 'bad number' }];
    expect(await new BatchService(reader).listErrors(OPERATOR, BATCH_ID)).toEqual(reader.errors);
    expect(reader.callsTo('listErrors')).toEqual([[BATCH_ID]]);
  });

  it("answers 404 for another operator's batch", async () => {
    const reader = new FakeReader();
    reader.batches = [batchRow({ id: OTHER_ID, operatorId: 99 })];
    const error = await appErrorFrom(new BatchService(reader).listErrors(OPERATOR, OTHER_ID));
    expect(error.statusCode).toBe(404);
    expect(reader.callsTo('listErrors')).toEqual([]);
  });
});

import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it, expect } from 'vitest';
import { manifestCsv, sampleAadhaar, sampleMsisdn, sampleRow } from '../../src/demo/sample-batch.js';
import type { SampleRow } from '../../src/demo/sample-batch.js';
import {
  batchResultOf,
  type BatchResult,
  type NewBatch,
  type RowError,
} from '../../src/repositories/batch.repository.js';
import type { PhotoRejection, StoredPhoto } from '../../src/repositories/photo-store.repository.js';
import { IngestService, hashIdentityDocument } from '../../src/services/ingest.service.js';
import type {
  IngestBatchStore,
  IngestLogger,
  IngestOutcome,
  IngestPhotoStore,
  IngestQueue,
  IngestRequest,
  IngestServiceDeps,
  UploadPart,
} from '../../src/services/ingest.service.js';
import type { RecordJobRef } from '../../src/jobs/job-registry.js';
import { appErrorFrom } from '../helpers/errors.js';

const NOW = new Date('2026-06-01T09:30:00Z');
const SECRET = Buffer.from('unit-test-secret-0123456789abcdef', 'utf8');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---------------------------------------------------------------------------------------------------------
// Fakes
// ---------------------------------------------------------------------------------------------------------

class FakeBatchStore implements IngestBatchStore {
  previous: BatchResult | null = null;
  /** When set, `create` behaves as if a concurrent request with the same idempotency key won. */
  lostRaceTo: BatchResult | null = null;
  /** Ids handed out to created records, in order. */
  nextRecordId = 100;
  /** Records that `findWaitingRecords` hands out, oldest first. */
  waiting: number[] = [];
  /** How many of the ids passed to `markQueued` it reports as moved; all by default. */
  markQueuedCount: ((ids: readonly number[]) => number) | null = null;

  readonly idempotencyLookups: [number, string][] = [];
  readonly created: NewBatch[] = [];
  readonly markQueuedCalls: number[][] = [];
  readonly waitingLimits: number[] = [];

  async findResultByIdempotencyKey(operatorId: number, idempotencyKey: string): Promise<BatchResult | null> {
    this.idempotencyLookups.push([operatorId, idempotencyKey]);
    return this.previous;
  }

  async create(batch: NewBatch): Promise<{ created: boolean; result: BatchResult; records: RecordJobRef[] }> {
    this.created.push(batch);
    if (this.lostRaceTo) return { created: false, result: this.lostRaceTo, records: [] };
    const records = batch.records.map(() => ({ id: this.nextRecordId++, queueStamp: NOW.getTime() }));
    return {
      created: true,
      result: batchResultOf(batch),
      records,
    };
  }

  async markQueued(recordIds: readonly number[]): Promise<number> {
    this.markQueuedCalls.push([...recordIds]);
    return this.markQueuedCount ? this.markQueuedCount(recordIds) : recordIds.length;
  }

  async findWaitingRecords(limit: number): Promise<RecordJobRef[]> {
    this.waitingLimits.push(limit);
    return this.waiting.splice(0, limit).map((id) => ({ id, queueStamp: NOW.getTime() }));
  }
}

/** Stores nothing; a photo's identity is the sha256 of its bytes, and chosen contents are rejected. */
class FakePhotoStore implements IngestPhotoStore {
  readonly rejections = new Map<string, PhotoRejection>();
  readonly saved: { content: string; declaredBytes: number | undefined }[] = [];

  async save(stream: Readable, declaredBytes?: number): Promise<StoredPhoto | PhotoRejection> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const content = Buffer.concat(chunks);
    this.saved.push({ content: content.toString('utf8'), declaredBytes });
    const rejection = this.rejections.get(content.toString('utf8'));
    if (rejection) return rejection;
    return {
      ok: true,
      sha256: sha256(content),
      mimeType: 'image/jpeg',
      byteSize: content.length,
      width: 480,
      height: 640,
    };
  }
}

class FakeQueue implements IngestQueue {
  failWith: Error | null = null;
  /** Ids of the records of each call. */
  readonly enqueued: number[][] = [];
  readonly enqueuedRecords: RecordJobRef[] = [];

  async enqueueRecords(records: readonly RecordJobRef[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.enqueued.push(records.map((record) => record.id));
    this.enqueuedRecords.push(...records);
  }
}

class FakeLogger implements IngestLogger {
  readonly warnings: { details: object; message: string }[] = [];

  warn(details: object, message: string): void {
    this.warnings.push({ details, message });
  }
}

interface Harness {
  service: IngestService;
  batches: FakeBatchStore;
  photos: FakePhotoStore;
  queue: FakeQueue;
  logger: FakeLogger;
}

function harness(overrides: Partial<IngestServiceDeps> = {}): Harness {
  const batches = new FakeBatchStore();
  const photos = new FakePhotoStore();
  const queue = new FakeQueue();
  const logger = new FakeLogger();
  const service = new IngestService({
    batches,
    photos,
    queue,
    logger,
    secret: SECRET,
    secretKeyId: 'k-unit',
    maxRowsPerBatch: 100,
    now: () => NOW,
    ...overrides,
  });
  return { service, batches, photos, queue, logger };
}

// ---------------------------------------------------------------------------------------------------------
// Upload helpers
// ---------------------------------------------------------------------------------------------------------

function sha256(content: Buffer | string): Buffer {
  return createHash('sha256').update(content).digest();
}

function manifestPart(csv: string | readonly SampleRow[]): UploadPart {
  return { kind: 'manifest', content: Buffer.from(typeof csv === 'string' ? csv : manifestCsv(csv), 'utf8') };
}

function photoPart(name: string, content: string, declaredBytes?: number): UploadPart {
  const part: UploadPart = { kind: 'photo', name, stream: Readable.from([Buffer.from(content, 'utf8')]) };
  if (declaredBytes !== undefined) part.declaredBytes = declaredBytes;
  return part;
}

async function* partsOf(parts: readonly UploadPart[]): AsyncGenerator<UploadPart> {
  for (const part of parts) yield part;
}

function request(parts: readonly UploadPart[], overrides: Partial<IngestRequest> = {}): IngestRequest {
  return {
    operatorId: 7,
    apiKeyId: 3,
    actor: 'key:3',
    idempotencyKey: null,
    source: 'multipart',
    parts: partsOf(parts),
    ...overrides,
  };
}

/** Ingests and returns the outcome together with the single NewBatch handed to the store. */
async function ingestOne(
  h: Harness,
  parts: readonly UploadPart[],
): Promise<{ outcome: IngestOutcome; batch: NewBatch }> {
  const outcome = await h.service.ingest(request(parts));
  expect(h.batches.created).toHaveLength(1);
  return { outcome, batch: h.batches.created[0]! };
}

/** JSON of a value with every Buffer written as hex, so a test can search the bytes as well as the strings. */
function serialiseWithBuffersAsHex(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, replaced: unknown) {
    const original = this[key];
    return Buffer.isBuffer(original) ? original.toString('hex') : replaced;
  });
}

function errorCodes(errors: readonly RowError[]): [number, string, string][] {
  return errors.map((error) => [error.row, error.field, error.code]);
}

// ---------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------

describe('hashIdentityDocument', () => {
  it('is an HMAC-SHA256 of "<type>:<number>" under the secret', () => {
    const hash = hashIdentityDocument(SECRET, 'aadhaar', '234123412346');
    expect(hash).toHaveLength(32);
    expect(hash.equals(createHmac('sha256', SECRET).update('aadhaar:234123412346').digest())).toBe(true);
  });

  it('is deterministic for one secret', () => {
    const first = hashIdentityDocument(SECRET, 'pan', 'ABCDE1234F');
    const second = hashIdentityDocument(Buffer.from(SECRET), 'pan', 'ABCDE1234F');
    expect(first.toString('hex')).toBe(second.toString('hex'));
  });

  it('differs across secrets', () => {
    const other = Buffer.from('another-secret-0123456789abcdefgh', 'utf8');
    expect(hashIdentityDocument(SECRET, 'aadhaar', '234123412346').toString('hex')).not.toBe(
      hashIdentityDocument(other, 'aadhaar', '234123412346').toString('hex'),
    );
  });

  it('differs across id types for the same number', () => {
    expect(hashIdentityDocument(SECRET, 'other', 'A1234567').toString('hex')).not.toBe(
      hashIdentityDocument(SECRET, 'passport', 'A1234567').toString('hex'),
    );
  });

  it('differs across numbers', () => {
    expect(hashIdentityDocument(SECRET, 'aadhaar', sampleAadhaar(1)).toString('hex')).not.toBe(
      hashIdentityDocument(SECRET, 'aadhaar', sampleAadhaar(2)).toString('hex'),
    );
  });
});

describe('IngestService.ingest: accepted rows', () => {
  it('hands good rows to the store with normalised values, an HMAC and the photo hash, then queues them', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg')]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
    ]);

    expect(outcome).toEqual({
      batchId: batch.id,
      accepted: 2,
      rejected: 0,
      errors: [],
      created: true,
      queued: 2,
      warnings: [],
    });
    expect(batch.id).toMatch(UUID);
    expect(batch).toMatchObject({
      operatorId: 7,
      apiKeyId: 3,
      idempotencyKey: null,
      source: 'multipart',
      totalRows: 2,
      errors: [],
    });
    expect(batch.records.map((record) => record.rowNumber)).toEqual([1, 2]);

    const row = sampleRow(1, 'a.jpg');
    const record = batch.records[0]!;
    expect(record).toMatchObject({
      msisdn: sampleMsisdn(1),
      name: row.name,
      fatherName: row.father_name,
      dob: row.dob,
      gender: 'F',
      idType: 'aadhaar',
      address: row.address,
      lsa: row.lsa,
      posAgentId: row.pos_agent_id,
      activationDate: row.activation_date,
    });
    expect(record.idHmac.equals(hashIdentityDocument(SECRET, 'aadhaar', sampleAadhaar(1)))).toBe(true);
    expect(record.idHmacKey).toBe('k-unit');
    expect(record.photoSha256.equals(sha256('photo-a'))).toBe(true);
    expect(batch.records[1]!.photoSha256.equals(sha256('photo-b'))).toBe(true);

    expect(batch.photos.map((photo) => photo.sha256.toString('hex')).sort()).toEqual(
      [sha256('photo-a').toString('hex'), sha256('photo-b').toString('hex')].sort(),
    );
    expect(batch.photos[0]).toMatchObject({ mimeType: 'image/jpeg', byteSize: 7, width: 480, height: 640 });

    expect(batch.audit).toEqual({
      apiKeyId: 3,
      actor: 'key:3',
      action: 'batch.create',
      entity: 'batch',
      details: { source: 'multipart', totalRows: 2, accepted: 2, rejected: 0 },
    });

    expect(h.queue.enqueued).toEqual([[100, 101]]);
    expect(h.batches.markQueuedCalls).toEqual([[100, 101]]);
    expect(h.logger.warnings).toEqual([]);
  });

  it('never puts the plain Aadhaar number anywhere in the NewBatch, and masks all but the last 4 digits', async () => {
    const h = harness();
    const rows = [sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg'), sampleRow(3, 'c.jpg')];
    // Spaced the way it is printed on the card: the normalised number is what gets hashed.
    const n3 = sampleAadhaar(3);
    rows[2]!.id_number = `${n3.slice(0, 4)} ${n3.slice(4, 8)} ${n3.slice(8)}`;
    const { outcome, batch } = await ingestOne(h, [
      manifestPart(rows),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('c.jpg', 'photo-c'),
    ]);
    expect(outcome.accepted).toBe(3);

    const serialised = serialiseWithBuffersAsHex(batch);
    for (const n of [1, 2, 3]) {
      const aadhaar = sampleAadhaar(n);
      const hmacHex = hashIdentityDocument(SECRET, 'aadhaar', aadhaar).toString('hex');
      // The serialisation really does contain the buffers, so a leaked number inside one would be found.
      expect(serialised).toContain(hmacHex);
      expect(serialised).not.toContain(aadhaar);
      expect(serialised).not.toContain(aadhaar.slice(0, 8));
      // ...nor as the bytes of its text inside a buffer.
      expect(serialised).not.toContain(Buffer.from(aadhaar, 'utf8').toString('hex'));
      expect(serialised).not.toContain(Buffer.from(aadhaar.slice(0, 8), 'utf8').toString('hex'));
      expect(serialised).not.toContain(aadhaar.slice(0, 4) + ' ' + aadhaar.slice(4, 8));
    }
    batch.records.forEach((record, i) => {
      const aadhaar = sampleAadhaar(i + 1);
      expect(record.idMasked).toBe(`XXXXXXXX${aadhaar.slice(-4)}`);
      expect(Object.keys(record)).not.toContain('idNumber');
    });
  });

  it('uses the injected clock for date checks', async () => {
    const h = harness();
    const future = { ...sampleRow(2, 'b.jpg'), activation_date: '2026-06-02' };
    const { outcome } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), future, { ...sampleRow(3, 'c.jpg'), activation_date: '2026-06-01' }]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('c.jpg', 'photo-c'),
    ]);
    expect(outcome.accepted).toBe(2);
    expect(errorCodes(outcome.errors)).toEqual([[2, 'activation_date', 'date_in_future']]);
  });

  it('passes each photo stream and its declared size to the photo store', async () => {
    const h = harness();
    await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'z.jpg')]),
      photoPart('a.jpg', 'photo-a', 7),
      photoPart('z.jpg', 'z'),
    ]);
    expect(h.photos.saved).toEqual([
      { content: 'photo-a', declaredBytes: 7 },
      { content: 'z', declaredBytes: undefined },
    ]);
  });

  it('never stores a photo no row names once the manifest is known, and warns about it', async () => {
    const h = harness();
    const { outcome } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'kyc/a.jpg')]),
      photoPart('photos/a.jpg', 'photo-a'),
      photoPart('padding/huge-1.bin', 'x'.repeat(1000)),
      photoPart('b.jpg', 'photo-b'),
    ]);
    // Matched by bare file name, as rows are; the rest are read off and dropped.
    expect(h.photos.saved.map((photo) => photo.content)).toEqual(['photo-a']);
    expect(outcome.warnings.map((warning) => [warning.code, warning.photo])).toEqual([
      ['photo_unreferenced', 'padding/huge-1.bin'],
      ['photo_unreferenced', 'b.jpg'],
    ]);
    expect(outcome.accepted).toBe(1);
  });

  it('accepts two rows that share one photo and lists the photo once', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'face.jpg'), sampleRow(2, 'face.jpg')]),
      photoPart('face.jpg', 'same-face'),
    ]);
    expect(outcome).toMatchObject({ accepted: 2, rejected: 0, errors: [] });
    expect(batch.records).toHaveLength(2);
    expect(batch.photos).toHaveLength(1);
    expect(batch.photos[0]!.sha256.equals(sha256('same-face'))).toBe(true);
    for (const record of batch.records) expect(record.photoSha256.equals(sha256('same-face'))).toBe(true);
  });

  it('lists identical content uploaded under two names once', async () => {
    const h = harness();
    const { batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg')]),
      photoPart('a.jpg', 'same-bytes'),
      photoPart('b.jpg', 'same-bytes'),
    ]);
    expect(batch.records).toHaveLength(2);
    expect(batch.photos).toHaveLength(1);
  });

  it('leaves unreferenced and rejected-row photos out of `photos`', async () => {
    const h = harness();
    const { batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), { ...sampleRow(2, 'b.jpg'), msisdn: '12345' }]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('unused.jpg', 'photo-unused'),
    ]);
    expect(batch.photos.map((photo) => photo.sha256.toString('hex'))).toEqual([sha256('photo-a').toString('hex')]);
  });
});

describe('IngestService.ingest: rejected rows', () => {
  it('reports bad rows as {row, field, code, message}, sorted by row, and accepts the rest', async () => {
    const h = harness();
    const rows = [
      sampleRow(1, 'a.jpg'),
      { ...sampleRow(2, 'b.jpg'), msisdn: '12345' },
      sampleRow(3, 'c.jpg'),
      // Last digit changed: fails the Verhoeff checksum.
      {
        ...sampleRow(4, 'd.jpg'),
        id_number: sampleAadhaar(4).slice(0, 11) + ((Number(sampleAadhaar(4).at(-1)) + 1) % 10),
        lsa: 'ZZ',
      },
    ];
    // Data row 5 has the wrong number of fields; it is reported before the sort puts it last.
    const csv = manifestCsv(rows) + 'only,three,fields\n';
    const { outcome, batch } = await ingestOne(h, [
      manifestPart(csv),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('c.jpg', 'photo-c'),
      photoPart('d.jpg', 'photo-d'),
    ]);

    expect(errorCodes(outcome.errors)).toEqual([
      [2, 'msisdn', 'invalid_msisdn'],
      [4, 'id_number', 'invalid_aadhaar_checksum'],
      [4, 'lsa', 'unknown_lsa'],
      [5, '*', 'wrong_column_count'],
    ]);
    for (const error of outcome.errors) {
      expect(Object.keys(error).sort()).toEqual(['code', 'field', 'message', 'row']);
      expect(error.message).toMatch(/\S/);
    }
    expect(outcome).toMatchObject({ accepted: 2, rejected: 3, created: true, queued: 2 });
    expect(batch.totalRows).toBe(5);
    expect(batch.errors).toEqual(outcome.errors);
    expect(batch.records.map((record) => record.rowNumber)).toEqual([1, 3]);
    expect(batch.audit.details).toEqual({ source: 'multipart', totalRows: 5, accepted: 2, rejected: 3 });
    // Error messages never echo the submitted values.
    expect(JSON.stringify(outcome.errors)).not.toContain(sampleAadhaar(4).slice(0, 11));
  });

  it('rejects a row whose photo was not uploaded with photo_missing', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'nope.jpg')]),
      photoPart('a.jpg', 'photo-a'),
    ]);
    expect(outcome.errors).toEqual([
      { row: 2, field: 'photo', code: 'photo_missing', message: 'no photo of that name was uploaded' },
    ]);
    expect(outcome).toMatchObject({ accepted: 1, rejected: 1 });
    expect(batch.records.map((record) => record.rowNumber)).toEqual([1]);
  });

  it("turns the photo store's rejection into that row's error", async () => {
    const h = harness();
    h.photos.rejections.set('huge-bytes', {
      ok: false,
      code: 'photo_too_large',
      message: 'the photo is larger than 1024 bytes',
    });
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'big.jpg'), sampleRow(2, 'b.jpg')]),
      photoPart('big.jpg', 'huge-bytes'),
      photoPart('b.jpg', 'photo-b'),
    ]);
    expect(outcome.errors).toEqual([
      { row: 1, field: 'photo', code: 'photo_too_large', message: 'the photo is larger than 1024 bytes' },
    ]);
    expect(batch.records.map((record) => record.rowNumber)).toEqual([2]);
    expect(batch.photos).toHaveLength(1);
  });

  it('reports field errors and a missing photo of the same row together', async () => {
    const h = harness();
    const { outcome } = await ingestOne(h, [manifestPart([{ ...sampleRow(1, 'gone.jpg'), gender: 'X' }])]);
    expect(errorCodes(outcome.errors)).toEqual([
      [1, 'gender', 'invalid_gender'],
      [1, 'photo', 'photo_missing'],
    ]);
    expect(outcome).toMatchObject({ accepted: 0, rejected: 1, queued: 0 });
  });

  it('rejects the second row with the same (normalised) MSISDN as duplicate_msisdn', async () => {
    const h = harness();
    const first = sampleRow(1, 'a.jpg');
    // Same number written in the national trunk form.
    const second = { ...sampleRow(2, 'b.jpg'), msisdn: '0' + first.msisdn.slice(3) };
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([first, second, sampleRow(3, 'c.jpg')]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('c.jpg', 'photo-c'),
    ]);
    expect(outcome.errors).toHaveLength(1);
    expect(outcome.errors[0]).toMatchObject({ row: 2, field: 'msisdn', code: 'duplicate_msisdn' });
    expect(outcome.errors[0]!.message).toContain('row 1');
    expect(batch.records.map((record) => record.rowNumber)).toEqual([1, 3]);
  });
});

describe('IngestService.ingest: photo names', () => {
  it('matches a manifest name to an upload by exact (normalised) path', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'photos/a.jpg'), sampleRow(2, './photos/b.jpg')]),
      photoPart('photos/a.jpg', 'photo-a'),
      photoPart('photos\\b.jpg', 'photo-b'),
      // Same base name in another folder: the exact path must win over the base name.
      photoPart('other/a.jpg', 'other-a'),
    ]);
    expect(outcome.errors).toEqual([]);
    expect(batch.records[0]!.photoSha256.equals(sha256('photo-a'))).toBe(true);
    expect(batch.records[1]!.photoSha256.equals(sha256('photo-b'))).toBe(true);
  });

  it('matches a bare manifest name to a zip path by base name', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg')]),
      photoPart('photos/a.jpg', 'photo-a'),
    ]);
    expect(outcome).toMatchObject({ accepted: 1, errors: [] });
    expect(batch.records[0]!.photoSha256.equals(sha256('photo-a'))).toBe(true);
  });

  it('matches a manifest path to a bare uploaded name by base name', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'photos/a.jpg')]),
      photoPart('a.jpg', 'photo-a'),
    ]);
    expect(outcome).toMatchObject({ accepted: 1, errors: [] });
    expect(batch.records[0]!.photoSha256.equals(sha256('photo-a'))).toBe(true);
  });

  it('treats a base name shared by two uploads as ambiguous (photo_ambiguous), while full paths still match', async () => {
    const h = harness();
    const { outcome, batch } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'y/a.jpg')]),
      photoPart('x/a.jpg', 'x-a'),
      photoPart('y/a.jpg', 'y-a'),
    ]);
    expect(errorCodes(outcome.errors)).toEqual([[1, 'photo', 'photo_ambiguous']]);
    expect(batch.records.map((record) => record.rowNumber)).toEqual([2]);
    expect(batch.records[0]!.photoSha256.equals(sha256('y-a'))).toBe(true);
  });

  it('reports two files under one full name as ambiguous, and files no row names as warnings', async () => {
    const h = harness();
    const { outcome } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg')]),
      photoPart('a.jpg', 'first'),
      photoPart('a.jpg', 'second'),
      photoPart('extra.jpg', 'extra'),
    ]);
    expect(errorCodes(outcome.errors)).toEqual([[1, 'photo', 'photo_ambiguous']]);
    expect(outcome.warnings).toEqual([expect.objectContaining({ code: 'photo_unreferenced', photo: 'extra.jpg' })]);
  });

  it('does not match names that differ in case', async () => {
    const h = harness();
    const { outcome } = await ingestOne(h, [manifestPart([sampleRow(1, 'A.JPG')]), photoPart('a.jpg', 'photo-a')]);
    expect(errorCodes(outcome.errors)).toEqual([[1, 'photo', 'photo_missing']]);
  });
});

describe('IngestService.ingest: whole-upload failures', () => {
  it('rejects a second manifest part with duplicate_manifest and creates nothing', async () => {
    const h = harness();
    const error = await appErrorFrom(
      h.service.ingest(
        request([
          manifestPart([sampleRow(1, 'a.jpg')]),
          photoPart('a.jpg', 'photo-a'),
          manifestPart([sampleRow(2, 'a.jpg')]),
        ]),
      ),
    );
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('duplicate_manifest');
    expect(h.batches.created).toEqual([]);
    expect(h.queue.enqueued).toEqual([]);
  });

  it('rejects an upload without a manifest with manifest_missing', async () => {
    const h = harness();
    const error = await appErrorFrom(h.service.ingest(request([photoPart('a.jpg', 'photo-a')])));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_missing');
    expect(h.batches.created).toEqual([]);
  });

  it('fails a bad manifest before storing the photos that follow it', async () => {
    const h = harness();
    const error = await appErrorFrom(
      h.service.ingest(request([manifestPart('msisdn,name\n+919876543210,Asha\n'), photoPart('a.jpg', 'photo-a')])),
    );
    expect(error.code).toBe('manifest_missing_columns');
    expect(h.photos.saved).toEqual([]);
    expect(h.batches.created).toEqual([]);
  });

  it('applies maxRowsPerBatch to the manifest', async () => {
    const h = harness({ maxRowsPerBatch: 1 });
    const error = await appErrorFrom(
      h.service.ingest(request([manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'a.jpg')])])),
    );
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('too_many_rows');
  });
});

describe('IngestService.ingest: idempotency', () => {
  const previous: BatchResult = {
    batchId: '5b0c3f3e-8d1a-4f55-9a47-3e8f5c1b2a90',
    accepted: 2,
    rejected: 1,
    errors: [{ row: 3, field: 'msisdn', code: 'invalid_msisdn', message: 'bad' }],
  };

  it('returns the earlier result without saving, creating or queueing anything', async () => {
    const h = harness();
    h.batches.previous = previous;
    const outcome = await h.service.ingest(
      request([manifestPart([sampleRow(1, 'a.jpg')]), photoPart('a.jpg', 'photo-a')], { idempotencyKey: 'req-42' }),
    );
    expect(outcome).toEqual({ ...previous, created: false, queued: 0, warnings: [] });
    expect(h.batches.idempotencyLookups).toEqual([[7, 'req-42']]);
    expect(h.photos.saved).toEqual([]);
    expect(h.batches.created).toEqual([]);
    expect(h.queue.enqueued).toEqual([]);
    expect(h.batches.markQueuedCalls).toEqual([]);
  });

  it('does not look anything up without an idempotency key', async () => {
    const h = harness();
    h.batches.previous = previous;
    const { outcome } = await ingestOne(h, [manifestPart([sampleRow(1, 'a.jpg')]), photoPart('a.jpg', 'photo-a')]);
    expect(h.batches.idempotencyLookups).toEqual([]);
    expect(outcome.created).toBe(true);
    expect(await h.service.findPrevious(7, null)).toBeNull();
  });

  it('queues nothing when create reports that a concurrent request with the same key won', async () => {
    const h = harness();
    h.batches.lostRaceTo = previous;
    const outcome = await h.service.ingest(
      request([manifestPart([sampleRow(1, 'a.jpg')]), photoPart('a.jpg', 'photo-a')], { idempotencyKey: 'req-99' }),
    );
    expect(h.batches.created).toHaveLength(1);
    expect(h.batches.created[0]!.idempotencyKey).toBe('req-99');
    expect(outcome).toEqual({ ...previous, created: false, queued: 0, warnings: [] });
    expect(h.queue.enqueued).toEqual([]);
    expect(h.batches.markQueuedCalls).toEqual([]);
  });

  it('stores the idempotency key with the new batch', async () => {
    const h = harness();
    await h.service.ingest(
      request([manifestPart([sampleRow(1, 'a.jpg')]), photoPart('a.jpg', 'photo-a')], {
        idempotencyKey: 'req-43',
        source: 'zip',
      }),
    );
    expect(h.batches.idempotencyLookups).toEqual([[7, 'req-43']]);
    expect(h.batches.created[0]).toMatchObject({ idempotencyKey: 'req-43', source: 'zip' });
  });
});

describe('IngestService.ingest: queueing', () => {
  it('keeps records unqueued, still reports the accepted counts and logs a warning when the queue is down', async () => {
    const h = harness();
    h.queue.failWith = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const { outcome } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg'), { ...sampleRow(3, 'c.jpg'), lsa: 'ZZ' }]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
      photoPart('c.jpg', 'photo-c'),
    ]);
    expect(outcome).toMatchObject({ accepted: 2, rejected: 1, created: true, queued: 0 });
    expect(h.batches.markQueuedCalls).toEqual([]);
    expect(h.logger.warnings).toHaveLength(1);
    expect(h.logger.warnings[0]!.details).toMatchObject({ err: h.queue.failWith, records: 2 });
    expect(h.logger.warnings[0]!.message).toMatch(/reconciler/);
  });

  it('reports as queued the number markQueued moved', async () => {
    const h = harness();
    h.batches.markQueuedCount = (ids) => ids.length - 1;
    const { outcome } = await ingestOne(h, [
      manifestPart([sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg')]),
      photoPart('a.jpg', 'photo-a'),
      photoPart('b.jpg', 'photo-b'),
    ]);
    expect(outcome.queued).toBe(1);
  });

  it('does not queue anything when no row was accepted', async () => {
    const h = harness();
    const { outcome } = await ingestOne(h, [manifestPart([sampleRow(1, 'missing.jpg')])]);
    expect(outcome).toMatchObject({ accepted: 0, rejected: 1, queued: 0 });
    expect(h.queue.enqueued.flat()).toEqual([]);
  });
});

describe('IngestService.reconcile', () => {
  it('pages through waiting records, enqueues and marks each page, and stops on a short page', async () => {
    const h = harness();
    h.batches.waiting = [1, 2, 3, 4, 5];
    const total = await h.service.reconcile(2);
    expect(h.batches.waitingLimits).toEqual([2, 2, 2]);
    expect(h.queue.enqueued).toEqual([[1, 2], [3, 4], [5]]);
    expect(h.batches.markQueuedCalls).toEqual([[1, 2], [3, 4], [5]]);
    expect(total).toBe(5);
  });

  it('stops on an empty page when the waiting records fill whole pages', async () => {
    const h = harness();
    h.batches.waiting = [1, 2, 3, 4];
    expect(await h.service.reconcile(2)).toBe(4);
    expect(h.batches.waitingLimits).toEqual([2, 2, 2]);
    expect(h.queue.enqueued).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('returns 0 without touching the queue when nothing waits', async () => {
    const h = harness();
    expect(await h.service.reconcile(10)).toBe(0);
    expect(h.batches.waitingLimits).toEqual([10]);
    expect(h.queue.enqueued).toEqual([]);
    expect(h.batches.markQueuedCalls).toEqual([]);
  });

  it('counts only the records markQueued actually moved', async () => {
    const h = harness();
    h.batches.waiting = [1, 2, 3];
    h.batches.markQueuedCount = (ids) => ids.length - 1;
    expect(await h.service.reconcile(5)).toBe(2);
  });

  it('uses a default batch size of 1000', async () => {
    const h = harness();
    h.batches.waiting = [9];
    expect(await h.service.reconcile()).toBe(1);
    expect(h.batches.waitingLimits).toEqual([1000]);
  });
});

describe('IngestService: backpressure', () => {
  const busyQueue = (waiting: number | Error) =>
    Object.assign(new FakeQueue(), {
      counts: async () => {
        if (waiting instanceof Error) throw waiting;
        return { waiting };
      },
    });

  it('refuses a new batch with 429 queue_full while more face jobs than the limit wait', async () => {
    const h = harness({ maxQueuedRecords: 5, queue: busyQueue(6) });
    const error = await appErrorFrom(h.service.ingest(request([manifestPart([sampleRow(1, 'a.jpg')])])));
    expect(error).toMatchObject({ statusCode: 429, code: 'queue_full', details: { waiting: 6, limit: 5 } });
    expect(h.batches.created).toHaveLength(0);
  });

  it('accepts at the limit, and when Redis cannot be asked', async () => {
    for (const queue of [busyQueue(5), busyQueue(new Error('redis down'))]) {
      const h = harness({ maxQueuedRecords: 5, queue });
      const { outcome } = await ingestOne(h, [manifestPart([sampleRow(1, 'a.jpg')]), photoPart('a.jpg', 'a')]);
      expect(outcome.accepted).toBe(1);
    }
  });
});

describe('IngestService.reconcile: jobs lost by a Redis restart', () => {
  it('queues every queued record again once per Redis run id', async () => {
    let runId = 'first';
    const queue = Object.assign(new FakeQueue(), { serverRunId: async () => runId });
    const batches = Object.assign(new FakeBatchStore(), {
      queued: [11, 12, 13],
      async findQueuedRecords(afterId: number, limit: number) {
        return this.queued
          .filter((id) => id > afterId)
          .slice(0, limit)
          .map((id) => ({ id, queueStamp: 5 }));
      },
    });
    const h = harness({ queue, batches });
    expect(await h.service.reconcile(2)).toBe(3);
    expect(queue.enqueued).toEqual([[11, 12], [13]]);
    // Same server: nothing to recover, and nothing logged on the first pass of a process.
    expect(await h.service.reconcile(2)).toBe(0);
    expect(h.logger.warnings).toHaveLength(0);
    runId = 'second';
    batches.queued = [13];
    expect(await h.service.reconcile(2)).toBe(1);
    expect(queue.enqueued.at(-1)).toEqual([13]);
    expect(h.logger.warnings[0]!.message).toMatch(/Redis restarted/);
  });
});

describe('IngestService.reconcile: the watchdog', () => {
  const WATCHDOG_MS = 60_000;
  /** Queued records with their stamps; restamp gives each the next stamp unless `taken` says another process did. */
  function watchdogHarness(queued: RecordJobRef[], live: number[]) {
    const batches = Object.assign(new FakeBatchStore(), {
      queued,
      taken: new Set<number>(),
      asked: [] as { afterId: number; stampedBefore?: number }[],
      async findQueuedRecords(afterId: number, limit: number, stampedBefore?: number) {
        this.asked.push({ afterId, stampedBefore });
        return this.queued.filter((r) => r.id > afterId && r.queueStamp < (stampedBefore ?? Infinity)).slice(0, limit);
      },
      async restamp(records: readonly RecordJobRef[]) {
        return records.filter((r) => !this.taken.has(r.id)).map((r) => ({ id: r.id, queueStamp: NOW.getTime() }));
      },
    });
    const queue = Object.assign(new FakeQueue(), {
      serverRunId: async () => 'same',
      async liveRecordIds(records: readonly RecordJobRef[]) {
        return new Set(records.map((r) => r.id).filter((id) => live.includes(id)));
      },
    });
    return { ...harness({ batches, queue, watchdogAfterMs: WATCHDOG_MS }), batches, queue };
  }

  it('queues anew, under a new stamp, only records queued long ago whose job is not live', async () => {
    const old = NOW.getTime() - 2 * WATCHDOG_MS;
    const h = watchdogHarness(
      [
        { id: 1, queueStamp: old },
        { id: 2, queueStamp: old },
        { id: 3, queueStamp: NOW.getTime() - 1_000 },
      ],
      [2],
    );
    await h.service.reconcile(10); // the first pass of a process re-adds every queued record's job as it was
    h.queue.enqueuedRecords.length = 0;
    expect(await h.service.reconcile(10)).toBe(1);
    expect(h.queue.enqueuedRecords).toEqual([{ id: 1, queueStamp: NOW.getTime() }]);
    expect(h.batches.asked.at(-1)!.stampedBefore).toBe(NOW.getTime() - WATCHDOG_MS);
    expect(h.logger.warnings.at(-1)!.message).toMatch(/no live job/);
  });

  it('leaves records another process restamped first, and walks the queued records a page per pass', async () => {
    const old = NOW.getTime() - 2 * WATCHDOG_MS;
    const h = watchdogHarness(
      [1, 2, 3, 4, 5].map((id) => ({ id, queueStamp: old })),
      [],
    );
    h.batches.taken.add(2);
    await h.service.reconcile(2);
    expect(h.queue.enqueuedRecords.filter((r) => r.queueStamp === NOW.getTime()).map((r) => r.id)).toEqual([1]);
    await h.service.reconcile(2);
    await h.service.reconcile(2);
    await h.service.reconcile(2);
    expect(h.batches.asked.filter((a) => a.stampedBefore !== undefined).map((a) => a.afterId)).toEqual([0, 2, 4, 0]);
    const restamped = h.queue.enqueuedRecords.filter((r) => r.queueStamp === NOW.getTime()).map((r) => r.id);
    expect(restamped.sort()).toEqual([1, 1, 3, 4, 5]);
  });

  it('is off without watchdogAfterMs', async () => {
    const h = watchdogHarness([{ id: 1, queueStamp: 0 }], []);
    const off = harness({ batches: h.batches, queue: h.queue });
    await off.service.reconcile(10);
    await off.service.reconcile(10);
    expect(h.batches.asked.every((a) => a.stampedBefore === undefined)).toBe(true);
  });
});

describe('IngestService.recordsUnderOtherSecrets', () => {
  it('names the key ids of stored records hashed under another secret than the configured one', async () => {
    const batches = Object.assign(new FakeBatchStore(), {
      async hmacKeyIds() {
        return [
          { keyId: 'k-unit', records: 10 },
          { keyId: '0badc0de', records: 3 },
          { keyId: null, records: 2 },
        ];
      },
    });
    expect(await harness({ batches }).service.recordsUnderOtherSecrets()).toEqual([{ keyId: '0badc0de', records: 3 }]);
    expect(await harness().service.recordsUnderOtherSecrets()).toEqual([]);
  });
});

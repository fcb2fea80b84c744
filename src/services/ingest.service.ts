/*
 * Over 400 lines on purpose: one upload's life (streamed multipart or zip parts, manifest and photo matching,
 * idempotency, row errors, the batch's one transaction) is one story whose ordering rules span the file.
 */
import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BatchResult, NewBatch, NewKycRecord, NewPhoto, RowError } from '../repositories/batch.repository.js';
import type { RecordJobRef } from '../jobs/job-registry.js';
import type { PhotoRejection, StoredPhoto } from '../repositories/photo-store.repository.js';
import { AppError } from './errors.js';
import { parseManifest } from './manifest.js';
import { validateManifestRow, type IdType } from './kyc-validators.js';

/** One piece of an upload, in the order the client sent it. */
export type UploadPart =
  | { kind: 'manifest'; content: Buffer }
  /**
   * `declaredBytes`: the size the container announced (zip entries), checked before reading. `lazy`: nothing is
   * read or inflated until the stream is (a zip entry), so an unwanted part can be dropped unread.
   */
  | { kind: 'photo'; name: string; stream: Readable; declaredBytes?: number; lazy?: boolean };

export interface IngestRequest {
  operatorId: number;
  apiKeyId: number | null;
  /** For the audit log: `key:<id>` or `cli`. */
  actor: string;
  idempotencyKey: string | null;
  source: 'multipart' | 'zip';
  parts: AsyncIterable<UploadPart>;
}

/** Something about the upload that is worth telling the client but rejects no row. */
export interface UploadWarning {
  code: 'photo_unreferenced';
  /** The uploaded file the warning is about. */
  photo: string;
  message: string;
}

export interface IngestOutcome extends BatchResult {
  /** False when an earlier request with the same idempotency key already created the batch. */
  created: boolean;
  /** How many accepted records reached the queue now; the rest wait for the reconciler. */
  queued: number;
  /** Uploaded photos that no manifest row names (empty on an idempotent replay). */
  warnings: UploadWarning[];
}

/** The storage the ingest service needs; repositories implement it, unit tests fake it. */
export interface IngestBatchStore {
  findResultByIdempotencyKey(operatorId: number, idempotencyKey: string): Promise<BatchResult | null>;
  create(batch: NewBatch): Promise<{ created: boolean; result: BatchResult; records: RecordJobRef[] }>;
  markQueued(recordIds: readonly number[]): Promise<number>;
  findWaitingRecords(limit: number): Promise<RecordJobRef[]>;
  /**
   * Records marked queued, by id after `afterId`, stamped before `stampedBefore` when given; without it the
   * reconciler cannot recover lost jobs.
   */
  findQueuedRecords?(afterId: number, limit: number, stampedBefore?: number): Promise<RecordJobRef[]>;
  /** Records per document-HMAC key id; without it the secret is not checked against stored records. */
  hmacKeyIds?(): Promise<{ keyId: string | null; records: number }[]>;
  /** New stamps for queued records (new job ids), unless changed since read; without it there is no watchdog. */
  restamp?(records: readonly RecordJobRef[]): Promise<RecordJobRef[]>;
}
export interface IngestPhotoStore {
  save(stream: Readable, declaredBytes?: number): Promise<StoredPhoto | PhotoRejection>;
}
export interface IngestQueue {
  enqueueRecords(records: readonly RecordJobRef[]): Promise<void>;
  /** Which of these records have a live job (waiting, active or delayed); without it there is no watchdog. */
  liveRecordIds?(records: readonly RecordJobRef[]): Promise<Set<number>>;
  /** Jobs per state in the faces queue; without it there is no backpressure. */
  counts?(): Promise<{ waiting: number }>;
  /** An id that changes whenever the queue's server restarts (and may have lost its jobs). */
  serverRunId?(): Promise<string>;
}
export interface IngestLogger {
  warn(details: object, message: string): void;
}

export interface IngestServiceDeps {
  batches: IngestBatchStore;
  photos: IngestPhotoStore;
  queue: IngestQueue;
  secret: Buffer;
  /** Names `secret` (config.secretKeyId); stored with every document HMAC. */
  secretKeyId: string;
  maxRowsPerBatch: number;
  /** Uploads are refused (429 `queue_full`) while more face jobs than this wait; unlimited when unset. */
  maxQueuedRecords?: number;
  /**
   * The watchdog queues anew a record left `queued` this long without a live job (a job lost or dropped by
   * Redis, for example after a database restore); off when unset.
   */
  watchdogAfterMs?: number;
  logger: IngestLogger;
  now?: () => Date;
}

/** Keyed hash of an identity document: equal documents match, the number itself is never stored. */
export function hashIdentityDocument(secret: Buffer, idType: IdType, normalisedNumber: string): Buffer {
  return createHmac('sha256', secret).update(`${idType}:${normalisedNumber}`).digest();
}

/**
 * Turns an upload (manifest + photos) into a batch of validated KYC records: bad rows are reported with
 * `{row, field, code, message}`, good rows are written with their batch in one transaction, then queued
 * for the face workers. Nothing accepted is lost when Redis is down: records stay `waiting` and
 * {@link IngestService.reconcile} queues them later.
 */
export class IngestService {
  private readonly now: () => Date;
  /** The queue server's run id when the reconciler last checked for lost jobs. */
  private lastRunId: string | null = null;
  /** The watchdog walks queued records by id, a page per pass, and starts over at the end. */
  private watchdogCursor = 0;

  constructor(private readonly deps: IngestServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Stored records whose documents were hashed under another secret than the configured one (a changed or lost
   * SIMSIFT_SECRET): their documents can never match new records'. Empty when every record uses this secret.
   */
  async recordsUnderOtherSecrets(): Promise<{ keyId: string | null; records: number }[]> {
    const counts = (await this.deps.batches.hmacKeyIds?.()) ?? [];
    return counts.filter((count) => count.keyId !== null && count.keyId !== this.deps.secretKeyId);
  }

  /** The result of an earlier upload with this idempotency key, if any. */
  async findPrevious(operatorId: number, idempotencyKey: string | null): Promise<BatchResult | null> {
    if (!idempotencyKey) return null;
    return this.deps.batches.findResultByIdempotencyKey(operatorId, idempotencyKey);
  }

  async ingest(request: IngestRequest): Promise<IngestOutcome> {
    const previous = await this.findPrevious(request.operatorId, request.idempotencyKey);
    if (previous) return { ...previous, created: false, queued: 0, warnings: [] };
    await this.checkQueueCapacity();

    let manifest: ReturnType<typeof parseManifest> | null = null;
    let named: PhotoNames | null = null;
    const photos = new PhotoIndex();
    const skipped: string[] = [];
    for await (const part of request.parts) {
      if (part.kind === 'manifest') {
        if (manifest) throw new AppError(400, 'duplicate_manifest', 'the upload contains more than one manifest');
        // Parsed as soon as it arrives so a bad manifest fails the upload before the photos are stored.
        manifest = parseManifest(part.content, this.deps.maxRowsPerBatch);
        named = new PhotoNames(manifest.rows.map((row) => row.values.photo?.trim() ?? ''));
      } else if (named && !named.has(part.name)) {
        // A photo no row names is never stored once the manifest is known (always so in a zip, whose manifest
        // is read first): a small upload must not fill the disk with files nothing refers to.
        skipped.push(part.name);
        if (part.lazy) part.stream.destroy();
        else await discard(part.stream);
      } else {
        photos.add(part.name, await this.deps.photos.save(part.stream, part.declaredBytes));
      }
    }
    if (!manifest) throw new AppError(400, 'manifest_missing', 'the upload has no manifest');

    const errors: RowError[] = manifest.malformedRows.map((row) => ({
      row,
      field: '*',
      code: 'wrong_column_count',
      message: 'the row does not have as many fields as the header',
    }));
    const records: NewKycRecord[] = [];
    const usedPhotos = new Map<string, NewPhoto>();
    const firstRowByMsisdn = new Map<string, number>();
    const today = this.now();
    for (const { rowNumber, values } of manifest.rows) {
      const rowErrors: RowError[] = [];
      const validated = validateManifestRow(values, today);
      if (!validated.ok) rowErrors.push(...validated.errors.map((error) => ({ row: rowNumber, ...error })));
      const photoName = values.photo?.trim() ?? '';
      const photo = photoName ? photos.find(photoName) : null;
      if (photo === 'ambiguous') {
        rowErrors.push({
          row: rowNumber,
          field: 'photo',
          code: 'photo_ambiguous',
          message: 'more than one uploaded file has that name; name the photo by its full path',
        });
      } else if (photoName && !photo) {
        rowErrors.push({
          row: rowNumber,
          field: 'photo',
          code: 'photo_missing',
          message: 'no photo of that name was uploaded',
        });
      } else if (photo && !photo.ok) {
        rowErrors.push({ row: rowNumber, field: 'photo', code: photo.code, message: photo.message });
      }
      if (validated.ok) {
        const firstRow = firstRowByMsisdn.get(validated.value.msisdn);
        if (firstRow !== undefined) {
          rowErrors.push({
            row: rowNumber,
            field: 'msisdn',
            code: 'duplicate_msisdn',
            message: `the same MSISDN is already on row ${firstRow} of this batch`,
          });
        }
      }
      if (rowErrors.length > 0 || !validated.ok || !photo || photo === 'ambiguous' || !photo.ok) {
        errors.push(...rowErrors);
        continue;
      }
      const row = validated.value;
      firstRowByMsisdn.set(row.msisdn, rowNumber);
      usedPhotos.set(photo.sha256.toString('hex'), photo);
      records.push({
        rowNumber,
        msisdn: row.msisdn,
        name: row.name,
        fatherName: row.fatherName,
        dob: row.dob,
        gender: row.gender,
        idType: row.idType,
        idHmac: hashIdentityDocument(this.deps.secret, row.idType, row.idNumber),
        idHmacKey: this.deps.secretKeyId,
        idMasked: row.idMasked,
        address: row.address,
        lsa: row.lsa,
        posAgentId: row.posAgentId,
        activationDate: row.activationDate,
        photoSha256: photo.sha256,
      });
    }
    errors.sort((a, b) => a.row - b.row);
    const totalRows = manifest.rows.length + manifest.malformedRows.length;
    const batchId = randomUUID();
    const {
      created,
      result,
      records: stored,
    } = await this.deps.batches.create({
      id: batchId,
      operatorId: request.operatorId,
      apiKeyId: request.apiKeyId,
      idempotencyKey: request.idempotencyKey,
      source: request.source,
      totalRows,
      errors,
      photos: [...usedPhotos.values()],
      records,
      audit: {
        apiKeyId: request.apiKeyId,
        actor: request.actor,
        action: 'batch.create',
        entity: 'batch',
        details: { source: request.source, totalRows, accepted: records.length, rejected: totalRows - records.length },
      },
    });
    const queued = created ? await this.tryEnqueue(stored) : 0;
    const warnings = [...photos.unreferenced(), ...skipped].map((name) => ({
      code: 'photo_unreferenced' as const,
      photo: name,
      message: 'no manifest row names this photo; it was not stored',
    }));
    return { ...result, created, queued, warnings: created ? warnings : [] };
  }

  /**
   * Backpressure: while the face workers are further behind than `maxQueuedRecords` jobs, a new batch would only
   * wait, so the client is told to come back later. When Redis cannot be asked the upload goes ahead: its
   * records wait in Postgres for the reconciler, which is the outage behaviour, not an overload.
   */
  private async checkQueueCapacity(): Promise<void> {
    const { maxQueuedRecords, queue } = this.deps;
    if (maxQueuedRecords === undefined || !queue.counts) return;
    let waiting: number;
    try {
      ({ waiting } = await queue.counts());
    } catch {
      return;
    }
    if (waiting > maxQueuedRecords) {
      throw new AppError(
        429,
        'queue_full',
        `${waiting} records are waiting for the face workers (limit ${maxQueuedRecords}); retry later`,
        { waiting, limit: maxQueuedRecords, retry_after_seconds: 60 },
      );
    }
  }

  /**
   * Queues records that were accepted but never reached the queue (Redis was down, or the process died
   * between commit and enqueue). Safe to run from several processes: job ids are deterministic.
   */
  async reconcile(batchSize = 1_000): Promise<number> {
    let total = (await this.requeueLostJobs(batchSize)) + (await this.requeueStalled(batchSize));
    for (;;) {
      const records = await this.deps.batches.findWaitingRecords(batchSize);
      if (records.length === 0) return total;
      await this.deps.queue.enqueueRecords(records);
      total += await this.deps.batches.markQueued(records.map((record) => record.id));
      if (records.length < batchSize) return total;
    }
  }

  /**
   * A Redis without persistence forgets every job when it restarts, leaving records `queued` that no worker
   * will ever take. Once per server start (and once when this process starts) every queued record's job is
   * added again: ids are deterministic, so a job that still exists is not duplicated. Returns the count of
   * queued records whose jobs were re-added (including no-ops for jobs that still existed).
   */
  private async requeueLostJobs(batchSize: number): Promise<number> {
    const { batches, queue } = this.deps;
    if (!batches.findQueuedRecords || !queue.serverRunId) return 0;
    const runId = await queue.serverRunId();
    if (runId === this.lastRunId) return 0;
    let requeued = 0;
    for (let after = 0; ;) {
      const records = await batches.findQueuedRecords(after, batchSize);
      if (records.length > 0) await queue.enqueueRecords(records);
      requeued += records.length;
      if (records.length < batchSize) break;
      after = records.at(-1)!.id;
    }
    const restarted = this.lastRunId !== null;
    this.lastRunId = runId;
    if (requeued > 0 && restarted) {
      this.deps.logger.warn({ records: requeued }, 'Redis restarted: queued records were queued again');
    }
    return requeued;
  }

  /**
   * The watchdog: a record queued longer than `watchdogAfterMs` ago whose job is not live (never added, dropped
   * by Redis because its id was taken, completed or failed while the record stayed queued, as after a database
   * restore) gets a new stamp and a job under the new id. Examines one page of such records per pass.
   */
  private async requeueStalled(batchSize: number): Promise<number> {
    const { batches, queue, watchdogAfterMs } = this.deps;
    if (!watchdogAfterMs || !batches.findQueuedRecords || !batches.restamp || !queue.liveRecordIds) return 0;
    const stampedBefore = this.now().getTime() - watchdogAfterMs;
    const candidates = await batches.findQueuedRecords(this.watchdogCursor, batchSize, stampedBefore);
    this.watchdogCursor = candidates.length < batchSize ? 0 : candidates.at(-1)!.id;
    if (candidates.length === 0) return 0;
    const live = await queue.liveRecordIds(candidates);
    const restamped = await batches.restamp(candidates.filter((record) => !live.has(record.id)));
    if (restamped.length === 0) return 0;
    await queue.enqueueRecords(restamped);
    this.deps.logger.warn(
      { records: restamped.length, waitedMs: watchdogAfterMs },
      'queued records had no live job: queued again under new job ids',
    );
    return restamped.length;
  }

  private async tryEnqueue(records: RecordJobRef[]): Promise<number> {
    try {
      await this.deps.queue.enqueueRecords(records);
      return await this.deps.batches.markQueued(records.map((record) => record.id));
    } catch (error) {
      this.deps.logger.warn(
        { err: error, records: records.length },
        'could not queue accepted records; they stay waiting for the reconciler',
      );
      return 0;
    }
  }
}

type PhotoOutcome = StoredPhoto | PhotoRejection;

/**
 * Photos by the name the client gave them. A manifest may name a photo by its path inside a zip or by its bare
 * file name; a name that two uploaded files share is ambiguous and matches neither (`photo_ambiguous`).
 */
class PhotoIndex {
  private readonly byName = new Map<string, PhotoOutcome | 'ambiguous'>();
  private readonly byBaseName = new Map<string, PhotoOutcome | 'ambiguous'>();
  /** Every name added, with whether some row's lookup reached it. */
  private readonly used = new Map<string, boolean>();
  private readonly namesByBase = new Map<string, string[]>();

  add(name: string, outcome: PhotoOutcome): void {
    const normalised = normalisePhotoName(name);
    // Two files under one full name (a zip may hold duplicates): neither is trusted to be the one meant.
    this.byName.set(normalised, this.byName.has(normalised) ? 'ambiguous' : outcome);
    const base = path.posix.basename(normalised);
    this.byBaseName.set(base, this.byBaseName.has(base) ? 'ambiguous' : outcome);
    this.used.set(normalised, false);
    const sameBase = this.namesByBase.get(base);
    if (sameBase) sameBase.push(normalised);
    else this.namesByBase.set(base, [normalised]);
  }

  /** The photo a manifest names, `'ambiguous'` when several uploaded files fit the name, or null. */
  find(name: string): PhotoOutcome | 'ambiguous' | null {
    const normalised = normalisePhotoName(name);
    const exact = this.byName.get(normalised);
    if (exact) {
      this.used.set(normalised, true);
      return exact;
    }
    const base = path.posix.basename(normalised);
    const byBase = this.byBaseName.get(base);
    if (byBase === undefined) return null;
    for (const key of this.namesByBase.get(base) ?? []) this.used.set(key, true);
    return byBase;
  }

  /** Names of uploaded files no row looked up (rejected files included: they are the client's to notice). */
  unreferenced(): string[] {
    return [...this.used].filter(([, used]) => !used).map(([name]) => name);
  }
}

/** The photo names a manifest's rows give, matched as PhotoIndex matches them: full path or bare file name. */
class PhotoNames {
  private readonly full: Set<string>;
  private readonly base: Set<string>;

  constructor(names: readonly string[]) {
    const normalised = names.filter((name) => name !== '').map(normalisePhotoName);
    this.full = new Set(normalised);
    this.base = new Set(normalised.map((name) => path.posix.basename(name)));
  }

  /** Whether some row could be naming the uploaded file `name`. */
  has(name: string): boolean {
    const normalised = normalisePhotoName(name);
    return this.full.has(normalised) || this.base.has(path.posix.basename(normalised));
  }
}

/** Reads a part to its end without keeping it: a multipart parser waits until each file part is consumed. */
async function discard(stream: Readable): Promise<void> {
  for await (const _chunk of stream) {
    // dropped
  }
}

function normalisePhotoName(name: string): string {
  return name.replace(/\\/g, '/').replace(/^\.\//, '').replace(/^\/+/, '');
}

import type { PhotoMimeType } from './photo-store.repository.js';
import type { RecordJobRef } from '../jobs/job-registry.js';
import type { ChangeFeed } from './change-feed.repository.js';
import { withTransaction, type Pool } from './database.js';
import { NotifiedCache } from './notified-cache.js';
import { insertAuditEntry, type AuditEntry } from './audit.repository.js';

export interface RowError {
  row: number;
  field: string;
  code: string;
  message: string;
}

export interface NewPhoto {
  sha256: Buffer;
  mimeType: PhotoMimeType;
  byteSize: number;
  width: number;
  height: number;
}

/** A KYC record's subscriber fields as accepted from a manifest row and as read back. */
interface KycRecordFields {
  rowNumber: number;
  msisdn: string;
  name: string;
  fatherName: string | null;
  dob: string | null;
  gender: string | null;
  idType: string;
  idMasked: string;
  address: string | null;
  lsa: string;
  posAgentId: string;
  activationDate: string;
}

export interface NewKycRecord extends KycRecordFields {
  idHmac: Buffer;
  /** The secret's key id (config.secretKeyId) the HMAC was made with. */
  idHmacKey: string;
  photoSha256: Buffer;
}

export interface NewBatch {
  id: string;
  operatorId: number;
  apiKeyId: number | null;
  idempotencyKey: string | null;
  source: 'multipart' | 'zip';
  totalRows: number;
  errors: RowError[];
  photos: NewPhoto[];
  records: NewKycRecord[];
  audit: Omit<AuditEntry, 'entityId'>;
}

export interface BatchResult {
  batchId: string;
  accepted: number;
  rejected: number;
  errors: RowError[];
}

/** What the upload answers for a batch it stored: every record it holds was accepted, every other row rejected. */
export function batchResultOf(batch: NewBatch): BatchResult {
  return {
    batchId: batch.id,
    accepted: batch.records.length,
    rejected: batch.totalRows - batch.records.length,
    errors: batch.errors,
  };
}

export interface BatchRow {
  id: string;
  operatorId: number;
  operatorCode: string;
  source: string;
  totalRows: number;
  accepted: number;
  rejected: number;
  createdAt: string;
  lastRecordUpdateAt: string | null;
  stateCounts: Record<string, number>;
}

export interface KycRecordRow extends KycRecordFields {
  id: number;
  photoSha256: string;
  state: string;
  stateDetail: unknown;
  createdAt: string;
  updatedAt: string;
}

const BATCH_COLUMNS = `b.id, b.operator_id AS "operatorId", o.code AS "operatorCode", b.source,
  b.total_rows AS "totalRows", b.accepted, b.rejected, to_json(b.created_at)#>>'{}' AS "createdAt",
  (SELECT to_json(max(r.updated_at))#>>'{}' FROM kyc_records r WHERE r.batch_id = b.id) AS "lastRecordUpdateAt",
  COALESCE((SELECT jsonb_object_agg(s.state, s.n) FROM
    (SELECT r.state, count(*)::int AS n FROM kyc_records r WHERE r.batch_id = b.id GROUP BY r.state) s),
    '{}'::jsonb) AS "stateCounts"`;

export class BatchRepository {
  // Clients poll their batches: with a change feed, a batch's status is served from memory until one of its
  // records (or any batch) changes.
  private readonly byId: NotifiedCache<BatchRow>;

  constructor(
    private readonly pool: Pool,
    changes: ChangeFeed | null = null,
  ) {
    this.byId = new NotifiedCache(changes, 'simsift_batches', { ttlMs: 30_000, maxEntries: 10_000 });
  }

  async findResultByIdempotencyKey(operatorId: number, idempotencyKey: string): Promise<BatchResult | null> {
    const result = await this.pool.query<BatchResult>(
      `SELECT id AS "batchId", accepted, rejected, errors FROM batches
       WHERE operator_id = $1::bigint AND idempotency_key = $2::text`,
      [operatorId, idempotencyKey],
    );
    return result.rows[0] ?? null;
  }

  /**
   * Writes the batch, its photos' metadata, its accepted records and the audit entry in one transaction.
   * Returns the existing batch instead when a concurrent request with the same idempotency key won the race.
   */
  async create(batch: NewBatch): Promise<{ created: boolean; result: BatchResult; records: RecordJobRef[] }> {
    const outcome = await withTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO batches (id, operator_id, api_key_id, idempotency_key, source, total_rows, accepted, rejected, errors)
         VALUES ($1::uuid, $2::bigint, $3::bigint, $4::text, $5::text, $6::integer, $7::integer, $8::integer, $9::jsonb)
         ON CONFLICT (operator_id, idempotency_key) DO NOTHING RETURNING id`,
        [
          batch.id,
          batch.operatorId,
          batch.apiKeyId,
          batch.idempotencyKey,
          batch.source,
          batch.totalRows,
          batch.records.length,
          batch.totalRows - batch.records.length,
          JSON.stringify(batch.errors),
        ],
      );
      if (inserted.rowCount === 0) return null;
      if (batch.photos.length > 0) {
        await client.query(
          `INSERT INTO photos (sha256, mime_type, byte_size, width, height)
           SELECT * FROM unnest($1::bytea[], $2::text[], $3::integer[], $4::integer[], $5::integer[])
           ON CONFLICT (sha256) DO UPDATE SET purged_at = NULL WHERE photos.purged_at IS NOT NULL`,
          [
            batch.photos.map((p) => p.sha256),
            batch.photos.map((p) => p.mimeType),
            batch.photos.map((p) => p.byteSize),
            batch.photos.map((p) => p.width),
            batch.photos.map((p) => p.height),
          ],
        );
      }
      const records = batch.records;
      const ids =
        records.length === 0
          ? []
          : (
              await client.query<RecordJobRef>(
                `INSERT INTO kyc_records (batch_id, operator_id, row_number, msisdn, name, father_name, dob, gender,
                   id_type, id_hmac, id_masked, address, lsa, pos_agent_id, activation_date, photo_sha256, id_hmac_key)
                 SELECT $1::uuid, $2::bigint, r.* FROM unnest($3::integer[], $4::text[], $5::text[], $6::text[],
                   $7::date[], $8::text[], $9::text[], $10::bytea[], $11::text[], $12::text[], $13::text[], $14::text[],
                   $15::date[], $16::bytea[], $17::text[]) AS r
                 RETURNING id, queue_stamp AS "queueStamp"`,
                [
                  batch.id,
                  batch.operatorId,
                  records.map((r) => r.rowNumber),
                  records.map((r) => r.msisdn),
                  records.map((r) => r.name),
                  records.map((r) => r.fatherName),
                  records.map((r) => r.dob),
                  records.map((r) => r.gender),
                  records.map((r) => r.idType),
                  records.map((r) => r.idHmac),
                  records.map((r) => r.idMasked),
                  records.map((r) => r.address),
                  records.map((r) => r.lsa),
                  records.map((r) => r.posAgentId),
                  records.map((r) => r.activationDate),
                  records.map((r) => r.photoSha256),
                  records.map((r) => r.idHmacKey),
                ],
              )
            ).rows;
      await insertAuditEntry(client, { ...batch.audit, entityId: batch.id });
      return ids;
    });
    if (outcome === null) {
      const existing = await this.findResultByIdempotencyKey(batch.operatorId, batch.idempotencyKey ?? '');
      if (!existing) throw new Error('idempotency conflict without an existing batch');
      return { created: false, result: existing, records: [] };
    }
    return { created: true, result: batchResultOf(batch), records: outcome };
  }

  /** Moves records from `waiting` to `queued`; records a worker already moved on are left alone. */
  async markQueued(recordIds: readonly number[]): Promise<number> {
    if (recordIds.length === 0) return 0;
    const result = await this.pool.query(
      `UPDATE kyc_records SET state = 'queued', updated_at = now()
       WHERE id = ANY($1::bigint[]) AND state = 'waiting'`,
      [recordIds],
    );
    return result.rowCount ?? 0;
  }

  /** Oldest records that were accepted but never reached the queue. */
  async findWaitingRecords(limit: number): Promise<RecordJobRef[]> {
    const result = await this.pool.query<RecordJobRef>(
      `SELECT id, queue_stamp AS "queueStamp" FROM kyc_records WHERE state = 'waiting' ORDER BY id LIMIT $1::integer`,
      [limit],
    );
    return result.rows;
  }

  /**
   * Records marked `queued`, by id after `afterId`, queued (stamped) before `stampedBefore` when given: the
   * reconciler re-queues them when Redis lost their jobs, the watchdog looks for those left without a live job.
   */
  async findQueuedRecords(afterId: number, limit: number, stampedBefore?: number): Promise<RecordJobRef[]> {
    const result = await this.pool.query<RecordJobRef>(
      `SELECT id, queue_stamp AS "queueStamp" FROM kyc_records
       WHERE state = 'queued' AND id > $1::bigint AND queue_stamp < $3::bigint ORDER BY id LIMIT $2::integer`,
      [afterId, limit, stampedBefore ?? Number.MAX_SAFE_INTEGER],
    );
    return result.rows;
  }

  /**
   * Gives queued records a new stamp (so their next job gets a new id) unless another process did since they
   * were read, or a worker moved them on; returns the records this call restamped.
   */
  async restamp(records: readonly RecordJobRef[]): Promise<RecordJobRef[]> {
    if (records.length === 0) return [];
    const result = await this.pool.query<RecordJobRef>(
      `UPDATE kyc_records r SET queue_stamp = greatest((extract(epoch FROM clock_timestamp()) * 1000)::bigint,
         r.queue_stamp + 1)
       FROM unnest($1::bigint[], $2::bigint[]) AS old (id, stamp)
       WHERE r.id = old.id AND r.queue_stamp = old.stamp AND r.state = 'queued'
       RETURNING r.id, r.queue_stamp AS "queueStamp"`,
      [records.map((r) => r.id), records.map((r) => r.queueStamp)],
    );
    return result.rows;
  }

  /** Records per document-HMAC key id (null: from before key ids were kept). */
  async hmacKeyIds(): Promise<{ keyId: string | null; records: number }[]> {
    const result = await this.pool.query<{ keyId: string | null; records: number }>(
      `SELECT id_hmac_key AS "keyId", count(*)::int AS records FROM kyc_records GROUP BY id_hmac_key ORDER BY 2 DESC`,
    );
    return result.rows;
  }

  /** Which of these photo hashes (hex) an accepted batch stored; the others' files are orphans. */
  async knownPhotos(hashes: readonly Buffer[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const result = await this.pool.query<{ sha256: Buffer }>(
      'SELECT sha256 FROM photos WHERE sha256 = ANY($1::bytea[])',
      [hashes],
    );
    return new Set(result.rows.map((row) => row.sha256.toString('hex')));
  }

  /** The batch, or null when it does not exist or belongs to another operator than `operatorId`. */
  async findById(batchId: string, operatorId: number | null): Promise<BatchRow | null> {
    const batch = await this.byId.get(batchId, async () => {
      // Named, so each connection plans it once: the hottest read (clients poll their batches).
      const result = await this.pool.query<BatchRow>({
        name: 'batch-by-id',
        text: `SELECT ${BATCH_COLUMNS} FROM batches b JOIN operators o ON o.id = b.operator_id WHERE b.id = $1::uuid`,
        values: [batchId],
      });
      return result.rows[0] ?? null;
    });
    return batch && (operatorId === null || batch.operatorId === operatorId) ? batch : null;
  }

  /** Newest first; keyset on (created_at, id). */
  async list(
    operatorId: number | null,
    after: { createdAt: string; id: string } | null,
    limit: number,
  ): Promise<BatchRow[]> {
    const result = await this.pool.query<BatchRow>(
      `SELECT ${BATCH_COLUMNS} FROM batches b JOIN operators o ON o.id = b.operator_id
       WHERE ($1::bigint IS NULL OR b.operator_id = $1::bigint)
         AND ($2::timestamptz IS NULL OR (b.created_at, b.id) < ($2::timestamptz, $3::uuid))
       ORDER BY b.created_at DESC, b.id DESC LIMIT $4::integer`,
      [operatorId, after?.createdAt ?? null, after?.id ?? null, limit],
    );
    return result.rows;
  }

  async listErrors(batchId: string): Promise<RowError[]> {
    const result = await this.pool.query<{ errors: RowError[] }>('SELECT errors FROM batches WHERE id = $1::uuid', [
      batchId,
    ]);
    return result.rows[0]?.errors ?? [];
  }

  /** Records of one batch in id order; keyset pagination after `afterId`. */
  async listRecords(batchId: string, state: string | null, afterId: number | null, limit: number) {
    const result = await this.pool.query<KycRecordRow>(
      `SELECT id, row_number AS "rowNumber", msisdn, name, father_name AS "fatherName", dob, gender,
         id_type AS "idType", id_masked AS "idMasked", address, lsa, pos_agent_id AS "posAgentId",
         activation_date AS "activationDate", encode(photo_sha256, 'hex') AS "photoSha256", state,
         state_detail AS "stateDetail", to_json(created_at)#>>'{}' AS "createdAt", to_json(updated_at)#>>'{}' AS "updatedAt"
       FROM kyc_records
       WHERE batch_id = $1::uuid AND ($2::text IS NULL OR state = $2::text) AND ($3::bigint IS NULL OR id > $3::bigint)
       ORDER BY id LIMIT $4::integer`,
      [batchId, state, afterId, limit],
    );
    return result.rows;
  }
}

import { withTransaction, type Pool } from './database.js';
import { insertAuditEntry } from './audit.repository.js';
import type { PhotoMimeType } from './photo-store.repository.js';

/** Whose records to erase: by number, by the HMAC of an identity document, or by id (retention). */
export type ErasureSubject = { msisdn: string } | { idHmac: Buffer } | { recordIds: number[]; reason: 'retention' };

export interface ErasedRecords {
  /** Internal ids only: pseudonymous, and what the audit row records. */
  recordIds: number[];
  faceIds: number[];
  clusterIds: number[];
  candidates: number;
  /** Photos no record refers to any more: their files are deleted after the commit. */
  photos: { sha256: Buffer; mimeType: PhotoMimeType }[];
  /** Relative to the data dir. */
  thumbnails: string[];
}

/**
 * Deletes a subscriber's KYC records with everything derived from them, in one transaction: block candidates,
 * analysts' constraints on their faces, cluster memberships, faces, the records, and the photo rows nothing else
 * refers to. Each cluster that lost a face gets an `erased` event, which makes the cluster worker reload its
 * index from Postgres and judge the cluster again (its stored size no longer matches its members). The audit row
 * carries internal ids and counts, never the number or the document.
 */
export class ErasureRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Photos stored before `storedBefore`, not yet purged, whose every record is processed (none still waits for a
   * face worker): their files may go.
   */
  async photosPastRetention(storedBefore: Date, limit: number): Promise<{ sha256: Buffer; mimeType: PhotoMimeType }[]> {
    const result = await this.pool.query<{ sha256: Buffer; mimeType: PhotoMimeType }>(
      `SELECT p.sha256, p.mime_type AS "mimeType" FROM photos p
       WHERE p.purged_at IS NULL AND p.created_at < $1::timestamptz
         AND NOT EXISTS (SELECT 1 FROM kyc_records r WHERE r.photo_sha256 = p.sha256
                           AND r.state IN ('waiting', 'queued'))
       ORDER BY p.created_at LIMIT $2::integer`,
      [storedBefore, limit],
    );
    return result.rows;
  }

  /** Marks photos purged (before their files are deleted, so no reader is sent to a missing file). */
  async markPhotosPurged(hashes: readonly Buffer[]): Promise<void> {
    await this.pool.query('UPDATE photos SET purged_at = now() WHERE sha256 = ANY($1::bytea[])', [hashes]);
  }

  /**
   * Records of cleared subscribers: every block candidate of theirs was dismissed (analysts found them
   * legitimate) before `decidedBefore`, and none is pending, confirmed or exported. Oldest decisions first.
   */
  async clearedRecords(decidedBefore: Date, limit: number): Promise<number[]> {
    const result = await this.pool.query<{ id: number }>(
      `SELECT b.record_id AS id FROM block_candidates b
       GROUP BY b.record_id
       HAVING bool_and(b.status = 'dismissed') AND max(b.decided_at) < $1::timestamptz
       ORDER BY max(b.decided_at) LIMIT $2::integer`,
      [decidedBefore, limit],
    );
    return result.rows.map((row) => Number(row.id));
  }

  async erase(subject: ErasureSubject, meta: { actor: string; apiKeyId: number | null }): Promise<ErasedRecords> {
    return withTransaction(this.pool, async (client) => {
      const records = await client.query<{ id: number }>(
        'msisdn' in subject
          ? 'SELECT id FROM kyc_records WHERE msisdn = $1::text ORDER BY id FOR UPDATE'
          : 'idHmac' in subject
            ? 'SELECT id FROM kyc_records WHERE id_hmac = $1::bytea ORDER BY id FOR UPDATE'
            : 'SELECT id FROM kyc_records WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
        ['msisdn' in subject ? subject.msisdn : 'idHmac' in subject ? subject.idHmac : subject.recordIds],
      );
      const recordIds = records.rows.map((row) => Number(row.id));
      if (recordIds.length === 0) {
        return { recordIds, faceIds: [], clusterIds: [], candidates: 0, photos: [], thumbnails: [] };
      }
      const faces = await client.query<{ id: number; thumbnailPath: string }>(
        'SELECT id, thumbnail_path AS "thumbnailPath" FROM faces WHERE record_id = ANY($1::bigint[]) FOR UPDATE',
        [recordIds],
      );
      const faceIds = faces.rows.map((row) => Number(row.id));
      const candidates = await client.query('DELETE FROM block_candidates WHERE record_id = ANY($1::bigint[])', [
        recordIds,
      ]);
      await client.query(
        'DELETE FROM cluster_constraints WHERE face_a = ANY($1::bigint[]) OR face_b = ANY($1::bigint[])',
        [faceIds],
      );
      const members = await client.query<{ clusterId: number }>(
        'DELETE FROM cluster_members WHERE face_id = ANY($1::bigint[]) RETURNING cluster_id AS "clusterId"',
        [faceIds],
      );
      const clusterIds = [...new Set(members.rows.map((row) => Number(row.clusterId)))].sort((a, b) => a - b);
      if (clusterIds.length > 0) {
        await client.query(
          `INSERT INTO cluster_events (kind, cluster_id, details)
           SELECT 'erased', c, jsonb_build_object('faces', cardinality($2::bigint[])) FROM unnest($1::bigint[]) AS c`,
          [clusterIds, faceIds],
        );
      }
      // A cluster left without members is gone; the others are judged again by the cluster worker.
      await client.query(
        `DELETE FROM clusters c WHERE c.id = ANY($1::bigint[])
           AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.cluster_id = c.id)`,
        [clusterIds],
      );
      await client.query('DELETE FROM faces WHERE id = ANY($1::bigint[])', [faceIds]);
      const deleted = await client.query<{ sha256: Buffer }>(
        'DELETE FROM kyc_records WHERE id = ANY($1::bigint[]) RETURNING photo_sha256 AS sha256',
        [recordIds],
      );
      const photos = await client.query<{ sha256: Buffer; mimeType: PhotoMimeType }>(
        `DELETE FROM photos p WHERE p.sha256 = ANY($1::bytea[])
           AND NOT EXISTS (SELECT 1 FROM kyc_records r WHERE r.photo_sha256 = p.sha256)
           AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.photo_sha256 = p.sha256)
         RETURNING p.sha256, p.mime_type AS "mimeType"`,
        [[...new Map(deleted.rows.map((row) => [row.sha256.toString('hex'), row.sha256])).values()]],
      );
      await insertAuditEntry(client, {
        apiKeyId: meta.apiKeyId,
        actor: meta.actor,
        action: 'subscriber.erase',
        entity: 'kyc_record',
        entityId: recordIds.join(','),
        details: {
          by: 'msisdn' in subject ? 'msisdn' : 'idHmac' in subject ? 'document' : subject.reason,
          records: recordIds,
          faces: faceIds,
          clusters: clusterIds,
          candidates: candidates.rowCount ?? 0,
          photos: photos.rows.length,
        },
      });
      return {
        recordIds,
        faceIds,
        clusterIds,
        candidates: candidates.rowCount ?? 0,
        photos: photos.rows,
        thumbnails: faces.rows.map((row) => row.thumbnailPath),
      };
    });
  }
}

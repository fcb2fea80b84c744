import { endianness } from 'node:os';
import type { FaceBox } from './face-engine/face-engine.repository.js';
import { withTransaction, type Pool } from './database.js';
import type { PhotoMimeType } from './photo-store.repository.js';
import { NO_USABLE_FACE_SCORE } from '../services/fraud-rules.js';

export interface RecordPhoto {
  recordId: number;
  photoSha256: Buffer;
  mimeType: PhotoMimeType;
}

export interface NewFace {
  recordId: number;
  photoSha256: Buffer;
  bbox: FaceBox;
  landmarks: [number, number][];
  quality: FaceQuality;
  embedder: string;
  embedderVersion: string;
  embedding: Float32Array;
  thumbnailPath: string;
  photoPhash: string;
}

export interface FaceQuality {
  face_px: number;
  detection_score: number;
  detector: string;
  faces_found: number;
  blur: number;
  yaw: number;
  roll: number;
  padded: boolean;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Float32 little-endian bytes: compact (4 bytes a dimension) and read back without parsing. */
export function embeddingToBytes(embedding: Float32Array): Buffer {
  const bytes = Buffer.alloc(embedding.length * 4);
  embedding.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes;
}

export function bytesToEmbedding(bytes: Buffer): Float32Array {
  // One copy of the bytes on little-endian hosts (all usual ones): the cluster worker reads 1M at each start.
  if (LITTLE_ENDIAN) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const embedding = new Float32Array(bytes.length / 4);
  for (let i = 0; i < embedding.length; i++) embedding[i] = bytes.readFloatLE(i * 4);
  return embedding;
}

export class FaceRepository {
  constructor(private readonly pool: Pool) {}

  async findRecordPhoto(recordId: number): Promise<RecordPhoto | null> {
    const result = await this.pool.query<{ recordId: number; photoSha256: Buffer; mimeType: PhotoMimeType }>(
      `SELECT r.id AS "recordId", r.photo_sha256 AS "photoSha256", p.mime_type AS "mimeType"
       FROM kyc_records r JOIN photos p ON p.sha256 = r.photo_sha256 WHERE r.id = $1::bigint`,
      [recordId],
    );
    return result.rows[0] ?? null;
  }

  async saveFace(face: NewFace): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      // Upsert on (record, embedder): a retried or redelivered job rewrites the same row, never adds one.
      const saved = await client.query<{ id: number }>(
        `INSERT INTO faces (record_id, photo_sha256, bbox, landmarks, quality, embedder, embedder_version, embedding,
           thumbnail_path, photo_phash)
         VALUES ($1::bigint, $2::bytea, $3::jsonb, $4::jsonb, $5::jsonb, $6::text, $7::text, $8::bytea, $9::text, $10::text)
         ON CONFLICT (record_id, embedder) DO UPDATE SET
           bbox = EXCLUDED.bbox, landmarks = EXCLUDED.landmarks, quality = EXCLUDED.quality,
           embedder_version = EXCLUDED.embedder_version, embedding = EXCLUDED.embedding,
           thumbnail_path = EXCLUDED.thumbnail_path, photo_phash = EXCLUDED.photo_phash, updated_at = now()
         RETURNING id`,
        [
          face.recordId,
          face.photoSha256,
          JSON.stringify(face.bbox),
          JSON.stringify(face.landmarks),
          JSON.stringify(face.quality),
          face.embedder,
          face.embedderVersion,
          embeddingToBytes(face.embedding),
          face.thumbnailPath,
          face.photoPhash,
        ],
      );
      await client.query(
        `UPDATE kyc_records SET state = 'face_ready', state_detail = $2::jsonb, updated_at = now() WHERE id = $1::bigint`,
        [face.recordId, JSON.stringify(face.quality)],
      );
      // A face found on a retry withdraws an earlier "no usable face" candidate that nobody has decided yet.
      await client.query(
        `DELETE FROM block_candidates WHERE record_id = $1::bigint AND cluster_id IS NULL AND status = 'pending'`,
        [face.recordId],
      );
      return saved.rows[0]!.id;
    });
  }

  async saveOutcome(recordId: number, state: string, detail: Record<string, unknown>): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM faces WHERE record_id = $1::bigint', [recordId]);
      await client.query(
        `UPDATE kyc_records SET state = $2::text, state_detail = $3::jsonb, updated_at = now() WHERE id = $1::bigint`,
        [recordId, state, JSON.stringify(detail)],
      );
      // NO_USABLE_FACE: a connection whose KYC photo shows no usable face cannot be checked against anyone.
      await client.query(
        `INSERT INTO block_candidates (cluster_id, record_id, operator_id, msisdn, reasons, score, evidence)
         SELECT NULL, r.id, r.operator_id, r.msisdn, ARRAY['NO_USABLE_FACE'], $2::real,
           jsonb_build_object('state', $3::text, 'detail', $4::jsonb)
         FROM kyc_records r WHERE r.id = $1::bigint
         ON CONFLICT (record_id) WHERE cluster_id IS NULL
         DO UPDATE SET evidence = EXCLUDED.evidence, updated_at = now()`,
        [recordId, NO_USABLE_FACE_SCORE, state, JSON.stringify(detail)],
      );
    });
  }
}

import { endianness } from 'node:os';
import type { FaceBox } from './face-engine/face-engine.repository.js';
import { withTransaction, type Pool } from './database.js';
import type { PhotoMimeType } from './photo-store.repository.js';
import type { RecordCandidateWrite } from '../services/rules/rules.service.js';
import { withdrawRecordCandidate, writeRecordCandidate } from './block-candidate.repository.js';

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
  /**
   * Why the face is of low quality (`blurred`, `turned`): it is still embedded and matched, and the analyst sees
   * the flag. Absent on faces stored before the flag existed.
   */
  flags?: string[];
  /** Confident faces that do not compete with the subscriber's (bystanders), in the original photo's pixels. */
  other_faces?: { box: { x: number; y: number; width: number; height: number }; score: number }[];
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

  /**
   * Faces of `embedder` whose descriptor was made by another version of it (older pipeline or weights), and whose
   * original photo is still kept (one deleted by photo retention cannot be embedded again).
   */
  async countStaleFaces(embedder: string, currentVersion: string): Promise<number> {
    const result = await this.pool.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM faces f JOIN photos p ON p.sha256 = f.photo_sha256
       WHERE f.embedder = $1::text AND f.embedder_version <> $2::text AND p.purged_at IS NULL`,
      [embedder, currentVersion],
    );
    return result.rows[0]!.n;
  }

  /** A page of those faces' records, by face id after `afterFaceId`. */
  async staleFaces(embedder: string, currentVersion: string, afterFaceId: number, limit: number) {
    const result = await this.pool.query<{ faceId: number; recordId: number }>(
      `SELECT f.id AS "faceId", f.record_id AS "recordId" FROM faces f JOIN photos p ON p.sha256 = f.photo_sha256
       WHERE f.embedder = $1::text AND f.embedder_version <> $2::text AND p.purged_at IS NULL AND f.id > $3::bigint
       ORDER BY f.id LIMIT $4::integer`,
      [embedder, currentVersion, afterFaceId, limit],
    );
    return result.rows;
  }

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
      await withdrawRecordCandidate(client, face.recordId);
      return saved.rows[0]!.id;
    });
  }

  /** A record that ended without a usable face: its state, and the candidate the rules made of it. */
  async saveOutcome(
    recordId: number,
    state: string,
    detail: Record<string, unknown>,
    candidate: RecordCandidateWrite,
  ): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM faces WHERE record_id = $1::bigint', [recordId]);
      await client.query(
        `UPDATE kyc_records SET state = $2::text, state_detail = $3::jsonb, updated_at = now() WHERE id = $1::bigint`,
        [recordId, state, JSON.stringify(detail)],
      );
      await writeRecordCandidate(client, candidate);
    });
  }
}

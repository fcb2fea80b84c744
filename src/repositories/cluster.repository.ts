import type { FaceMemberships } from '../services/clustering/cluster.service.js';
import { MEMBERSHIP_PAGE } from '../services/clustering/saved-gallery.js';
import type { ClusterChange } from '../services/clustering/face-clusterer.js';
import type { CandidateWrite, ClusterJudgement, StoredSubscriberRecord } from '../services/rules/rules.service.js';
import {
  dropPendingCandidatesOfClusters,
  moveCandidatesOnMerge,
  writeClusterCandidates,
} from './block-candidate.repository.js';
import pg from 'pg';
import { withTransaction, type Pool } from './database.js';
import { bytesToEmbedding } from './face.repository.js';
import { PHOTO_REUSE_MAX_BITS } from '../services/rules/identity-graph.js';

export interface StoredFaceVector {
  faceId: number;
  vector: Float32Array;
  clusterId: number | null;
}

/** SQL: faces `a` and `b` (table aliases) carry the same picture; index-assisted through the hash chunks. */
function samePhoto(a: string, b: string): string {
  return `((${a}.phash_q0 = ${b}.phash_q0 OR ${a}.phash_q1 = ${b}.phash_q1 OR ${a}.phash_q2 = ${b}.phash_q2
    OR ${a}.phash_q3 = ${b}.phash_q3) AND bit_count(${a}.phash_bits # ${b}.phash_bits) <= ${PHOTO_REUSE_MAX_BITS})`;
}

/**
 * The cluster worker's store: clusters in Postgres, the source of truth the in-memory index is rebuilt from, and
 * where the worker writes cluster changes and verdicts. The API reads clusters through ClusterReadRepository.
 */
export class ClusterRepository {
  constructor(private readonly pool: Pool) {}

  /** Every face of one embedder with its cluster (null when not yet clustered), in id order. */
  async loadFaces(embedder: string, afterFaceId = 0, limit = 100_000): Promise<StoredFaceVector[]> {
    const result = await this.pool.query<{ faceId: number; embedding: Buffer; clusterId: number | null }>(
      `SELECT f.id AS "faceId", f.embedding, m.cluster_id AS "clusterId"
       FROM faces f LEFT JOIN cluster_members m ON m.face_id = f.id
       WHERE f.embedder = $1::text AND f.id > $2::bigint ORDER BY f.id LIMIT $3::integer`,
      [embedder, afterFaceId, limit],
    );
    return result.rows.map((row) => ({
      faceId: row.faceId,
      vector: bytesToEmbedding(row.embedding),
      clusterId: row.clusterId,
    }));
  }

  /**
   * {@link loadFaces} without the descriptors: which faces exist and their clusters (NaN: none yet), in id
   * order, up to `lastFaceId` (every face when omitted), in pages of `pageFaces`, for a restart whose
   * descriptors come from the saved gallery. One query streamed row by row: Postgres finds the next rows while
   * these are parsed (measured at 1M faces: 1.1 s, against 2.4-2.8 s in pages of 100,000 asked one after the
   * other); at 10M faces this read is most of a restart.
   */
  async loadMemberships(
    embedder: string,
    lastFaceId?: number,
    pageFaces = MEMBERSHIP_PAGE,
  ): Promise<FaceMemberships[]> {
    const client = await this.pool.connect();
    const pages: FaceMemberships[] = [];
    let page = newMembershipPage(pageFaces);
    let filled = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        const config: pg.QueryArrayConfig = {
          text: `SELECT f.id, m.cluster_id FROM faces f LEFT JOIN cluster_members m ON m.face_id = f.id
                 WHERE f.embedder = $1::text AND ($2::bigint IS NULL OR f.id <= $2::bigint) ORDER BY f.id`,
          values: [embedder, lastFaceId ?? null],
          rowMode: 'array',
        };
        const query = new pg.Query(config);
        query.on('row', ([faceId, clusterId]: [number, number | null]) => {
          if (filled === pageFaces) {
            pages.push(page);
            page = newMembershipPage(pageFaces);
            filled = 0;
          }
          page.faceIds[filled] = faceId;
          page.clusterIds[filled++] = clusterId ?? Number.NaN;
        });
        query.on('end', () => resolve());
        query.on('error', reject);
        void client.query(query);
      });
    } finally {
      client.release();
    }
    if (filled > 0)
      pages.push({ faceIds: page.faceIds.subarray(0, filled), clusterIds: page.clusterIds.subarray(0, filled) });
    return pages;
  }

  /** Clusters whose stored size lags their members: the verdict of the last change was never written. */
  async unjudgedClusters(): Promise<number[]> {
    const result = await this.pool.query<{ id: number }>(
      `SELECT c.id FROM clusters c
         LEFT JOIN (SELECT cluster_id, count(*)::integer AS n FROM cluster_members GROUP BY cluster_id) m
           ON m.cluster_id = c.id
       WHERE c.size <> COALESCE(m.n, 0) ORDER BY c.id`,
    );
    return result.rows.map((row) => Number(row.id));
  }

  /** Faces of one embedder in no cluster with `fromId` < id <= `toId`, in id order (late commits). */
  async unclusteredFaces(embedder: string, fromId: number, toId: number) {
    const result = await this.pool.query<{ faceId: number; embedding: Buffer }>(
      `SELECT f.id AS "faceId", f.embedding FROM faces f
       WHERE f.embedder = $1::text AND f.id > $2::bigint AND f.id <= $3::bigint
         AND NOT EXISTS (SELECT 1 FROM cluster_members m WHERE m.face_id = f.id)
       ORDER BY f.id`,
      [embedder, fromId, toId],
    );
    return result.rows.map((row) => ({
      faceId: row.faceId,
      vector: bytesToEmbedding(row.embedding),
      clusterId: null,
    }));
  }

  /** Records that stored descriptors were recomputed: every cluster worker reloads its vectors. */
  async markReembedded(embedder: string, faces: number): Promise<number> {
    const result = await this.pool.query<{ id: number }>(
      `INSERT INTO cluster_events (kind, cluster_id, details) VALUES ('reembedded', 0, $1::jsonb) RETURNING id`,
      [JSON.stringify({ embedder, faces })],
    );
    return result.rows[0]!.id;
  }

  /** Id of the newest `reembedded` event (0: none): an index saved before it holds old vectors. */
  async lastReembedEventId(): Promise<number> {
    const result = await this.pool.query<{ id: number | null }>(
      "SELECT max(id) AS id FROM cluster_events WHERE kind = 'reembedded'",
    );
    return result.rows[0]?.id ?? 0;
  }

  /** Id of the newest cluster event: changes when any writer touched the clusters. */
  async lastEventId(): Promise<number> {
    const result = await this.pool.query<{ id: number | null }>('SELECT max(id) AS id FROM cluster_events');
    return result.rows[0]?.id ?? 0;
  }

  /** Writes the clusterer's decisions and the events that explain them in one transaction. */
  async applyChanges(embedder: string, changes: readonly ClusterChange[]): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      for (const change of changes) {
        if (change.kind === 'created') {
          await client.query(
            'INSERT INTO clusters (id, embedder) VALUES ($1::bigint, $2::text) ON CONFLICT DO NOTHING',
            [change.clusterId, embedder],
          );
        }
        if (change.kind === 'created' || change.kind === 'joined') {
          const joined = change.kind === 'joined' ? change : null;
          await client.query(
            `INSERT INTO cluster_members (face_id, cluster_id, mean_distance, support)
             VALUES ($1::bigint, $2::bigint, $3::real, $4::real)
             ON CONFLICT (face_id) DO UPDATE SET cluster_id = EXCLUDED.cluster_id,
               mean_distance = EXCLUDED.mean_distance, support = EXCLUDED.support`,
            [change.faceId, change.clusterId, joined?.meanDistance ?? null, joined?.support ?? null],
          );
        } else if (change.kind === 'split') {
          // The faces an analyst split off form a new cluster; their numbers' pending candidates are dropped
          // with the next verdict, decided ones stay with the old cluster (a decision is never lost).
          await client.query(
            'INSERT INTO clusters (id, embedder) VALUES ($1::bigint, $2::text) ON CONFLICT DO NOTHING',
            [change.newClusterId, embedder],
          );
          await client.query('UPDATE cluster_members SET cluster_id = $1::bigint WHERE face_id = ANY($2::bigint[])', [
            change.newClusterId,
            change.faceIds,
          ]);
        } else {
          await client.query('UPDATE cluster_members SET cluster_id = $1::bigint WHERE cluster_id = $2::bigint', [
            change.clusterId,
            change.absorbedId,
          ]);
          await client.query('DELETE FROM clusters WHERE id = $1::bigint', [change.absorbedId]);
          await moveCandidatesOnMerge(client, change.clusterId, change.absorbedId);
        }
        await client.query(
          `INSERT INTO cluster_events (kind, cluster_id, face_id, absorbed_id, details)
           VALUES ($1::text, $2::bigint, $3::bigint, $4::bigint, $5::jsonb)`,
          [
            change.kind,
            change.clusterId,
            change.kind === 'created' || change.kind === 'joined' ? change.faceId : null,
            change.kind === 'merged' ? change.absorbedId : null,
            JSON.stringify(change),
          ],
        );
      }
      const last = await client.query<{ id: number | null }>('SELECT max(id) AS id FROM cluster_events');
      return last.rows[0]?.id ?? 0;
    });
  }

  /**
   * An applied recluster: new clusters first, then every moved face, then the clusters left empty (their
   * pending candidates go; decided ones stay on record), with one `reclustered` event per changed cluster.
   */
  async replaceClusters(
    embedder: string,
    plan: { moves: { faceId: number; clusterId: number }[]; created: number[]; removed: number[] },
  ): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      await client.query(
        'INSERT INTO clusters (id, embedder) SELECT id, $2::text FROM unnest($1::bigint[]) AS id ON CONFLICT DO NOTHING',
        [plan.created, embedder],
      );
      await client.query(
        `UPDATE cluster_members m SET cluster_id = v.cluster_id, mean_distance = NULL, support = NULL
         FROM unnest($1::bigint[], $2::bigint[]) AS v(face_id, cluster_id) WHERE m.face_id = v.face_id`,
        [plan.moves.map((m) => m.faceId), plan.moves.map((m) => m.clusterId)],
      );
      await dropPendingCandidatesOfClusters(client, plan.removed);
      await client.query('DELETE FROM clusters WHERE id = ANY($1::bigint[])', [plan.removed]);
      await client.query(
        `INSERT INTO cluster_events (kind, cluster_id, details)
         SELECT 'reclustered', v.cluster_id, jsonb_build_object('faces', count(*))
         FROM unnest($1::bigint[]) AS v(cluster_id) GROUP BY v.cluster_id`,
        [plan.moves.map((m) => m.clusterId)],
      );
      const last = await client.query<{ id: number | null }>('SELECT max(id) AS id FROM cluster_events');
      return last.rows[0]?.id ?? 0;
    });
  }

  /**
   * Clusters that share an identity document or a photo hash with records in `clusterIds`: when a face lands in
   * one cluster, a document or photo reuse also changes the verdict of the other.
   */
  async relatedClusters(clusterIds: readonly number[]): Promise<number[]> {
    const result = await this.pool.query<{ id: number }>(
      `WITH mine AS (
         SELECT r.id_hmac, f.phash_bits, f.phash_q0, f.phash_q1, f.phash_q2, f.phash_q3
         FROM cluster_members m JOIN faces f ON f.id = m.face_id JOIN kyc_records r ON r.id = f.record_id
         WHERE m.cluster_id = ANY($1::bigint[])),
       related AS (
         SELECT f.id FROM mine JOIN kyc_records r ON r.id_hmac = mine.id_hmac JOIN faces f ON f.record_id = r.id
         UNION
         SELECT f.id FROM mine JOIN faces f ON ${samePhoto('f', 'mine')})
       SELECT DISTINCT m.cluster_id AS id FROM cluster_members m WHERE m.face_id IN (SELECT id FROM related)`,
      [clusterIds],
    );
    return result.rows.map((row) => row.id);
  }

  /** Analysts' constraints after `afterId`, for the clusterer (it honours them on every assignment and merge). */
  async constraints(afterId = 0): Promise<{ id: number; kind: string; faceA: number; faceB: number }[]> {
    const result = await this.pool.query<{ id: number; kind: string; faceA: number; faceB: number }>(
      `SELECT id, kind, face_a AS "faceA", face_b AS "faceB" FROM cluster_constraints WHERE id > $1::bigint
       ORDER BY id`,
      [afterId],
    );
    return result.rows;
  }

  /** Clusters holding a record with this identity document (hex HMAC). */
  async clustersWithDocument(idHmacHex: string): Promise<number[]> {
    const result = await this.pool.query<{ id: number }>(
      `SELECT DISTINCT m.cluster_id AS id FROM kyc_records r JOIN faces f ON f.record_id = r.id
         JOIN cluster_members m ON m.face_id = f.id WHERE r.id_hmac = decode($1::text, 'hex')`,
      [idHmacHex],
    );
    return result.rows.map((row) => Number(row.id));
  }

  /** Faces whose photo is the picture with this perceptual hash (within the bit limit). */
  async facesWithPhoto(photoPhash: string): Promise<number[]> {
    const result = await this.pool.query<{ id: number }>(
      `WITH probe AS (
         SELECT ('x' || $1::text)::bit(64) AS phash_bits,
           ('x' || substr($1::text, 1, 4))::bit(16)::integer AS phash_q0,
           ('x' || substr($1::text, 5, 4))::bit(16)::integer AS phash_q1,
           ('x' || substr($1::text, 9, 4))::bit(16)::integer AS phash_q2,
           ('x' || substr($1::text, 13, 4))::bit(16)::integer AS phash_q3)
       SELECT f.id FROM probe JOIN faces f ON ${samePhoto('f', 'probe')} ORDER BY f.id`,
      [photoPhash],
    );
    return result.rows.map((row) => row.id);
  }

  async clusterReasons(clusterIds: readonly number[]): Promise<Map<number, string[]>> {
    const result = await this.pool.query<{ id: number; reasons: string[] }>(
      'SELECT id, reasons FROM clusters WHERE id = ANY($1::bigint[])',
      [clusterIds],
    );
    return new Map(result.rows.map((row) => [Number(row.id), row.reasons]));
  }

  /**
   * The records whose faces are in `clusterIds`, and every record sharing an identity document with them, with
   * or without a face (a document's connections are counted together), for the identity graph.
   */
  async subscriberRecords(embedder: string, clusterIds: readonly number[]): Promise<StoredSubscriberRecord[]> {
    const result = await this.pool.query<StoredSubscriberRecord>(
      `WITH judged AS (
         SELECT f.record_id FROM cluster_members m JOIN faces f ON f.id = m.face_id
         WHERE m.cluster_id = ANY($1::bigint[])),
       documents AS (
         SELECT DISTINCT r.id_hmac FROM judged j JOIN kyc_records r ON r.id = j.record_id)
       SELECT r.id AS "recordId", r.msisdn, r.name, r.father_name AS "fatherName", r.dob,
         encode(r.id_hmac, 'hex') AS "idHmac", r.lsa, r.pos_agent_id AS "posAgentId",
         r.activation_date AS "activationDate", f.id AS "faceId", m.cluster_id AS "clusterId",
         CASE WHEN f.quality ? 'blur' AND f.quality ? 'yaw' THEN jsonb_build_object('blur', (f.quality->>'blur')::real,
           'yaw', (f.quality->>'yaw')::real) END AS "faceQuality"
       FROM kyc_records r
         LEFT JOIN faces f ON f.record_id = r.id AND f.embedder = $2::text
         LEFT JOIN cluster_members m ON m.face_id = f.id
       WHERE r.id IN (SELECT record_id FROM judged) OR r.id_hmac IN (SELECT id_hmac FROM documents)
       ORDER BY r.id`,
      [clusterIds, embedder],
    );
    return result.rows;
  }

  /** Pairs of the given faces whose photos are one picture (perceptual hashes within a few bits). */
  async photoLinks(faceIds: readonly number[]): Promise<[number, number][]> {
    const result = await this.pool.query<{ a: number; b: number }>(
      `SELECT a.id AS a, b.id AS b FROM faces a JOIN faces b ON b.id > a.id AND ${samePhoto('a', 'b')}
       WHERE a.id = ANY($1::bigint[]) AND b.id = ANY($1::bigint[])`,
      [faceIds],
    );
    return result.rows.map((row) => [row.a, row.b]);
  }

  /**
   * Stores each judged cluster's size, reasons, score and evidence, and makes the block candidates of those
   * clusters match `candidates`, in one transaction: each given candidate is upserted (reasons, score and
   * evidence refreshed; an analyst's status never touched), and pending rows of the judged clusters that are
   * not among them are removed.
   */
  async saveVerdicts(
    verdicts: readonly (ClusterJudgement & { size: number })[],
    candidates: readonly CandidateWrite[],
  ): Promise<void> {
    if (verdicts.length === 0) return;
    await withTransaction(this.pool, async (client) => {
      await client.query(
        `UPDATE clusters c SET size = v.size, evidence = v.evidence, updated_at = now(), score = v.score,
           reasons = COALESCE(string_to_array(NULLIF(v.reasons, ''), ','), '{}')
         FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::jsonb[], $5::real[])
           AS v(id, size, reasons, evidence, score)
         WHERE c.id = v.id`,
        [
          verdicts.map((v) => v.clusterId),
          verdicts.map((v) => v.size),
          verdicts.map((v) => v.reasons.join(',')),
          verdicts.map((v) => JSON.stringify(v.evidence)),
          verdicts.map((v) => (v.reasons.length > 0 ? v.score : 0)),
        ],
      );
      await writeClusterCandidates(
        client,
        verdicts.map((v) => v.clusterId),
        candidates,
      );
    });
  }
}

function newMembershipPage(faces: number): FaceMemberships {
  return { faceIds: new Float64Array(faces), clusterIds: new Float64Array(faces) };
}

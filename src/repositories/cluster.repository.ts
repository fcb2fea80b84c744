import type { ClusterChange } from '../services/clustering/face-clusterer.js';
import type { CandidateWrite, ClusterJudgement, StoredSubscriberRecord } from '../services/rules/rules.service.js';
import {
  dropPendingCandidatesOfClusters,
  moveCandidatesOnMerge,
  writeClusterCandidates,
} from './block-candidate.repository.js';
import { withTransaction, type Pool } from './database.js';
import { bytesToEmbedding } from './face.repository.js';
import { PHOTO_REUSE_MAX_BITS } from '../services/rules/identity-graph.js';

export interface StoredFaceVector {
  faceId: number;
  vector: Float32Array;
  clusterId: number | null;
}

export interface ClusterSummary {
  id: number;
  size: number;
  reasons: string[];
  evidence: Record<string, unknown>;
  flagged: boolean;
  score: number;
  updatedAt: string;
}

export interface ClusterListItem extends ClusterSummary {
  /** Operators and service areas of the members the caller may see. */
  operators: string[];
  lsas: string[];
  /** Block candidates still waiting for a decision. */
  pending: number;
  /** Members the caller may see: all of them, or an operator's own. */
  visibleSize: number;
}

export interface ClusterFilter {
  flagged: boolean | null;
  reason: string | null;
  /** Clusters holding a record of this operator (by code). */
  operatorCode: string | null;
  lsa: string | null;
  /** Clusters with at least one block candidate in this status. */
  status: string | null;
  minSize: number | null;
  updatedSince: string | null;
  /** The caller's own operator, for operator keys: they see only clusters holding their records. */
  scopeOperatorId: number | null;
}

export type ClusterSortKey = 'id' | 'score' | 'size' | 'updated';
export interface ClusterSort {
  key: ClusterSortKey;
  order: 'asc' | 'desc';
}
/** Where the previous page ended: the last row's sort value and id. */
export interface ClusterCursor {
  value: string;
  id: number;
}

const SORT_COLUMNS: Record<ClusterSortKey, { column: string; type: string }> = {
  id: { column: 'c.id', type: 'bigint' },
  score: { column: 'c.score', type: 'real' },
  size: { column: 'c.size', type: 'integer' },
  updated: { column: 'c.updated_at', type: 'timestamptz' },
};

export interface AgentEnrolment {
  recordId: number;
  msisdn: string;
  name: string;
  clusterId: number;
  reasons: string[];
  status: string;
}

export interface AgentRisk {
  operator: string;
  posAgentId: string;
  enrolments: number;
  flaggedEnrolments: number;
  risk: number;
}

export interface BlockCandidate {
  id: number;
  /** null for NO_USABLE_FACE: the record has no face, so no cluster. */
  clusterId: number | null;
  recordId: number;
  operator: string;
  msisdn: string;
  reasons: string[];
  score: number;
  status: string;
  updatedAt: string;
}

export interface ClusterMember {
  faceId: number;
  recordId: number;
  operator: string;
  msisdn: string;
  name: string;
  fatherName: string | null;
  dob: string | null;
  idType: string;
  idMasked: string;
  lsa: string;
  posAgentId: string;
  activationDate: string;
  meanDistance: number | null;
}

/** SQL: faces `a` and `b` (table aliases) carry the same picture; index-assisted through the hash chunks. */
function samePhoto(a: string, b: string): string {
  return `((${a}.phash_q0 = ${b}.phash_q0 OR ${a}.phash_q1 = ${b}.phash_q1 OR ${a}.phash_q2 = ${b}.phash_q2
    OR ${a}.phash_q3 = ${b}.phash_q3) AND bit_count(${a}.phash_bits # ${b}.phash_bits) <= ${PHOTO_REUSE_MAX_BITS})`;
}

/** Clusters in Postgres: the source of truth the in-memory index is rebuilt from. */
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

  /** Block candidates newest first; `operatorId` limits to that operator's numbers. */
  async listBlockCandidates(options: {
    status: string | null;
    reason: string | null;
    operatorId: number | null;
    afterId: number | null;
    limit: number;
  }) {
    const result = await this.pool.query<BlockCandidate>(
      `SELECT b.id, b.cluster_id AS "clusterId", b.record_id AS "recordId", o.code AS operator, b.msisdn,
         b.reasons, b.score, b.status, to_json(b.updated_at)#>>'{}' AS "updatedAt"
       FROM block_candidates b JOIN operators o ON o.id = b.operator_id
       WHERE ($1::text IS NULL OR b.status = $1::text) AND ($2::text IS NULL OR $2::text = ANY(b.reasons))
         AND ($3::bigint IS NULL OR b.operator_id = $3::bigint) AND ($4::bigint IS NULL OR b.id < $4::bigint)
       ORDER BY b.id DESC LIMIT $5::integer`,
      [options.status, options.reason, options.operatorId, options.afterId, options.limit],
    );
    return result.rows;
  }

  /** An agent's enrolments that landed in flagged clusters, newest first. */
  async agentEnrolments(operatorCode: string, posAgentId: string, operatorId: number | null, limit: number) {
    const result = await this.pool.query<AgentEnrolment>(
      `SELECT r.id AS "recordId", r.msisdn, r.name, m.cluster_id AS "clusterId", c.reasons,
         COALESCE(b.status, 'none') AS status
       FROM kyc_records r JOIN operators o ON o.id = r.operator_id
         JOIN faces f ON f.record_id = r.id JOIN cluster_members m ON m.face_id = f.id
         JOIN clusters c ON c.id = m.cluster_id
         LEFT JOIN block_candidates b ON b.cluster_id = c.id AND b.msisdn = r.msisdn
       WHERE o.code = $1::text AND r.pos_agent_id = $2::text AND c.flagged
         AND ($3::bigint IS NULL OR r.operator_id = $3::bigint)
       ORDER BY r.id DESC LIMIT $4::integer`,
      [operatorCode, posAgentId, operatorId, limit],
    );
    return result.rows;
  }

  /** PoS agents, riskiest first (share of enrolments in flagged clusters, then flagged count). */
  async agentsByRisk(operatorId: number | null, limit: number): Promise<AgentRisk[]> {
    const result = await this.pool.query<AgentRisk>(
      `SELECT o.code AS operator, a.pos_agent_id AS "posAgentId", a.enrolments,
         a.flagged_enrolments AS "flaggedEnrolments", a.risk
       FROM pos_agent_risk a JOIN operators o ON o.id = a.operator_id
       WHERE ($1::bigint IS NULL OR a.operator_id = $1::bigint)
       ORDER BY a.risk DESC, a.flagged_enrolments DESC, o.code, a.pos_agent_id LIMIT $2::integer`,
      [operatorId, limit],
    );
    return result.rows;
  }

  /**
   * One page of clusters matching `filter`, in `sort` order (keyset: rows after `after`), and how many match
   * in all. An operator scope limits to clusters holding that operator's records, and the status filter then
   * looks only at that operator's block candidates.
   */
  async list(filter: ClusterFilter, sort: ClusterSort, after: ClusterCursor | null, limit: number) {
    const params: unknown[] = [];
    const param = (value: unknown, type: string) => {
      params.push(value);
      return `$${params.length}::${type}`;
    };
    const where: string[] = [];
    if (filter.flagged !== null) where.push(`c.flagged = ${param(filter.flagged, 'boolean')}`);
    if (filter.reason !== null) where.push(`${param(filter.reason, 'text')} = ANY(c.reasons)`);
    if (filter.minSize !== null) where.push(`c.size >= ${param(filter.minSize, 'integer')}`);
    if (filter.updatedSince !== null) where.push(`c.updated_at >= ${param(filter.updatedSince, 'timestamptz')}`);
    const scope =
      filter.scopeOperatorId === null ? '' : ` AND r.operator_id = ${param(filter.scopeOperatorId, 'bigint')}`;
    const member: string[] = [];
    if (filter.operatorCode !== null) member.push(`o.code = ${param(filter.operatorCode, 'text')}`);
    if (filter.lsa !== null) member.push(`r.lsa = ${param(filter.lsa, 'text')}`);
    if (member.length > 0 || scope) {
      where.push(`EXISTS (SELECT 1 FROM cluster_members m JOIN faces f ON f.id = m.face_id
        JOIN kyc_records r ON r.id = f.record_id JOIN operators o ON o.id = r.operator_id
        WHERE m.cluster_id = c.id${scope}${member.map((m) => ` AND ${m}`).join('')})`);
    }
    if (filter.status !== null) {
      where.push(`EXISTS (SELECT 1 FROM block_candidates b JOIN kyc_records r ON r.id = b.record_id
        WHERE b.cluster_id = c.id AND b.status = ${param(filter.status, 'text')}${scope})`);
    }
    const conditions = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = await this.pool.query<{ total: number }>(
      `SELECT count(*)::integer AS total FROM clusters c ${conditions}`,
      params,
    );

    const { column, type } = SORT_COLUMNS[sort.key];
    const direction = sort.order === 'asc' ? 'ASC' : 'DESC';
    const pageWhere = [...where];
    if (after) {
      const comparison = sort.order === 'asc' ? '>' : '<';
      pageWhere.push(`(${column}, c.id) ${comparison} (${param(after.value, type)}, ${param(after.id, 'bigint')})`);
    }
    const rows = await this.pool.query<ClusterListItem & { sortValue: string }>(
      `SELECT c.id, c.size, COALESCE(c.reasons, '{}') AS reasons, c.evidence, c.flagged, c.score,
         to_json(c.updated_at)#>>'{}' AS "updatedAt", to_json(${column})#>>'{}' AS "sortValue",
         COALESCE((SELECT array_agg(DISTINCT o.code ORDER BY o.code) FROM cluster_members m
           JOIN faces f ON f.id = m.face_id JOIN kyc_records r ON r.id = f.record_id
           JOIN operators o ON o.id = r.operator_id WHERE m.cluster_id = c.id${scope}), '{}') AS operators,
         COALESCE((SELECT array_agg(DISTINCT r.lsa ORDER BY r.lsa) FROM cluster_members m
           JOIN faces f ON f.id = m.face_id JOIN kyc_records r ON r.id = f.record_id
           WHERE m.cluster_id = c.id${scope}), '{}') AS lsas,
         (SELECT count(*)::integer FROM block_candidates b JOIN kyc_records r ON r.id = b.record_id
           WHERE b.cluster_id = c.id AND b.status = 'pending'${scope}) AS pending,
         ${
           scope
             ? `(SELECT count(*)::integer FROM cluster_members m JOIN faces f ON f.id = m.face_id
                 JOIN kyc_records r ON r.id = f.record_id WHERE m.cluster_id = c.id${scope})`
             : 'c.size'
         } AS "visibleSize"
       FROM clusters c ${pageWhere.length > 0 ? `WHERE ${pageWhere.join(' AND ')}` : ''}
       ORDER BY ${column} ${direction}, c.id ${direction} LIMIT ${param(limit, 'integer')}`,
      params,
    );
    return { rows: rows.rows, total: total.rows[0]!.total };
  }

  async members(clusterId: number, operatorId: number | null): Promise<ClusterMember[]> {
    const result = await this.pool.query<ClusterMember>(
      `SELECT f.id AS "faceId", r.id AS "recordId", o.code AS operator, r.msisdn, r.name, r.dob,
         r.father_name AS "fatherName", r.id_type AS "idType", r.id_masked AS "idMasked", r.lsa,
         r.pos_agent_id AS "posAgentId",
         r.activation_date AS "activationDate", m.mean_distance AS "meanDistance"
       FROM cluster_members m JOIN faces f ON f.id = m.face_id JOIN kyc_records r ON r.id = f.record_id
       JOIN operators o ON o.id = r.operator_id
       WHERE m.cluster_id = $1::bigint AND ($2::bigint IS NULL OR r.operator_id = $2::bigint)
       ORDER BY r.id`,
      [clusterId, operatorId],
    );
    return result.rows;
  }

  async find(clusterId: number): Promise<ClusterSummary | null> {
    const result = await this.pool.query<ClusterSummary>(
      `SELECT id, size, reasons, evidence, flagged, score, to_json(updated_at)#>>'{}' AS "updatedAt"
       FROM clusters WHERE id = $1::bigint`,
      [clusterId],
    );
    return result.rows[0] ?? null;
  }

  /** A face's original photo (content-addressed sha256 and type), or null; `operatorId` as for thumbnails. */
  async photoOf(
    faceId: number,
    operatorId: number | null,
  ): Promise<{ sha256: Buffer; mimeType: string; purged: boolean } | null> {
    const result = await this.pool.query<{ sha256: Buffer; mimeType: string; purged: boolean }>(
      `SELECT p.sha256, p.mime_type AS "mimeType", p.purged_at IS NOT NULL AS purged
       FROM faces f JOIN kyc_records r ON r.id = f.record_id
         JOIN photos p ON p.sha256 = r.photo_sha256
       WHERE f.id = $1::bigint AND ($2::bigint IS NULL OR r.operator_id = $2::bigint)`,
      [faceId, operatorId],
    );
    return result.rows[0] ?? null;
  }

  /** A face's thumbnail path, or null; `operatorId` limits to that operator's records. */
  async thumbnailPath(faceId: number, operatorId: number | null): Promise<string | null> {
    const result = await this.pool.query<{ path: string }>(
      `SELECT f.thumbnail_path AS path FROM faces f JOIN kyc_records r ON r.id = f.record_id
       WHERE f.id = $1::bigint AND ($2::bigint IS NULL OR r.operator_id = $2::bigint)`,
      [faceId, operatorId],
    );
    return result.rows[0]?.path ?? null;
  }
}

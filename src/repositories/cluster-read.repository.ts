import type { Pool } from './database.js';

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

/**
 * The API's read model of clusters: the review queue's list, a cluster's members, block candidates, PoS agents'
 * risk and a face's photo, each scoped to an operator when `operatorId` is given. Only the cluster worker writes
 * clusters (ClusterRepository).
 */
export class ClusterReadRepository {
  constructor(private readonly pool: Pool) {}

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

import { insertAuditEntry, type AuditEntry } from './audit.repository.js';
import { decideCandidates } from './block-candidate.repository.js';
import { withTransaction, type Pool } from './database.js';
import { bytesToEmbedding } from './face.repository.js';

export type CandidateStatus = 'pending' | 'confirmed' | 'dismissed' | 'exported';
export type CaseSource = 'analysis' | 'law_enforcement' | 'bank';

export interface CandidateView {
  id: number;
  msisdn: string;
  operator: string;
  operatorId: number;
  status: CandidateStatus;
  reasons: string[];
  score: number;
  decisionReason: string | null;
  decidedAt: string | null;
  decidedBy: string | null;
  source: CaseSource;
  reverification: string | null;
}

/** One analyst decision on some of a cluster's numbers: each gets this status, reason and source. */
export interface CandidateDecision {
  msisdn: string;
  status: 'confirmed' | 'dismissed';
  reason: string | null;
}

const CANDIDATE_COLUMNS = `b.id, b.msisdn, o.code AS operator, b.operator_id AS "operatorId", b.status, b.reasons,
  b.score, b.decision_reason AS "decisionReason", to_json(b.decided_at)#>>'{}' AS "decidedAt",
  b.decided_by AS "decidedBy", b.source, b.reverification`;

/** Analysts' decisions and constraints; every change is written with its audit row in one transaction. */
export class ReviewRepository {
  constructor(private readonly pool: Pool) {}

  async candidates(clusterId: number, operatorId: number | null): Promise<CandidateView[]> {
    const result = await this.pool.query<CandidateView>(
      `SELECT ${CANDIDATE_COLUMNS} FROM block_candidates b JOIN operators o ON o.id = b.operator_id
       WHERE b.cluster_id = $1::bigint AND ($2::bigint IS NULL OR b.operator_id = $2::bigint) ORDER BY b.msisdn`,
      [clusterId, operatorId],
    );
    return result.rows;
  }

  /** Face descriptors by face id, for the pairwise distance matrix shown to analysts. */
  async embeddings(faceIds: readonly number[]): Promise<Map<number, Float32Array>> {
    const result = await this.pool.query<{ id: number; embedding: Buffer }>(
      'SELECT id, embedding FROM faces WHERE id = ANY($1::bigint[])',
      [faceIds],
    );
    return new Map(result.rows.map((row) => [Number(row.id), bytesToEmbedding(row.embedding)]));
  }

  /**
   * Applies decisions to a cluster's candidates (exported ones are final and left alone) and writes the audit
   * row with the statuses before and after, all in one transaction. Returns the candidates changed.
   */
  async decide(
    clusterId: number,
    decisions: readonly CandidateDecision[],
    meta: { actor: string; apiKeyId: number | null; source: CaseSource; note: string | null; action: string },
  ): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      const { before, after } = await decideCandidates(client, clusterId, decisions, meta);
      const entry: AuditEntry = {
        apiKeyId: meta.apiKeyId,
        actor: meta.actor,
        action: meta.action,
        entity: 'cluster',
        entityId: String(clusterId),
        details: { source: meta.source, note: meta.note },
        before: { candidates: before },
        after: { candidates: after },
      };
      await insertAuditEntry(client, entry);
      return after.length;
    });
  }

  /**
   * Stores constraint pairs from a split (cannot-link) or a merge (must-link), with their audit row. Pairs
   * already stored are skipped. Returns how many were new.
   */
  async addConstraints(
    kind: 'cannot_link' | 'must_link',
    pairs: readonly [number, number][],
    meta: { actor: string; apiKeyId: number | null; clusterId: number; details: Record<string, unknown> },
  ): Promise<number> {
    return withTransaction(this.pool, async (client) => {
      const result = await client.query(
        `INSERT INTO cluster_constraints (kind, face_a, face_b, created_by)
         SELECT $1::text, least(a, b), greatest(a, b), $4::text FROM unnest($2::bigint[], $3::bigint[]) AS p(a, b)
         WHERE a <> b ON CONFLICT DO NOTHING`,
        [kind, pairs.map((p) => p[0]), pairs.map((p) => p[1]), meta.actor],
      );
      await insertAuditEntry(client, {
        apiKeyId: meta.apiKeyId,
        actor: meta.actor,
        action: kind === 'cannot_link' ? 'cluster.split' : 'cluster.merge',
        entity: 'cluster',
        entityId: String(meta.clusterId),
        details: { ...meta.details, pairs: pairs.length },
      });
      return result.rowCount ?? 0;
    });
  }

  /** Whether any cannot-link pair joins a face of `a` with a face of `b`. */
  async cannotLinked(a: readonly number[], b: readonly number[]): Promise<boolean> {
    const result = await this.pool.query(
      `SELECT 1 FROM cluster_constraints WHERE kind = 'cannot_link'
         AND ((face_a = ANY($1::bigint[]) AND face_b = ANY($2::bigint[]))
           OR (face_a = ANY($2::bigint[]) AND face_b = ANY($1::bigint[]))) LIMIT 1`,
      [a, b],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** The cluster of each face (faces not clustered are absent). */
  async clustersOfFaces(faceIds: readonly number[]): Promise<Map<number, number>> {
    const result = await this.pool.query<{ faceId: number; clusterId: number }>(
      `SELECT face_id AS "faceId", cluster_id AS "clusterId" FROM cluster_members WHERE face_id = ANY($1::bigint[])`,
      [faceIds],
    );
    return new Map(result.rows.map((row) => [Number(row.faceId), Number(row.clusterId)]));
  }
}

import type { CandidateWrite, RecordCandidateWrite } from '../services/rules/rules.service.js';
import type { PoolClient } from './database.js';

/**
 * Every write to `block_candidates`, in one place. Each runs on the caller's transaction client, because a
 * candidate always changes together with something else: a cluster verdict, a face, a decision and its audit
 * row, an export file. The rules decide what a candidate says (RulesService); this module only stores it, and
 * never overwrites an analyst's decision.
 */

/**
 * The candidates of judged face clusters: `candidates` are upserted (reasons, score and evidence refreshed; the
 * status never touched), and pending rows of `clusterIds` that are not among them are removed.
 */
export async function writeClusterCandidates(
  client: PoolClient,
  clusterIds: readonly number[],
  candidates: readonly CandidateWrite[],
): Promise<void> {
  await client.query(
    `DELETE FROM block_candidates b WHERE b.cluster_id = ANY($1::bigint[]) AND b.status = 'pending'
       AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[], $3::bigint[]) AS k(cluster_id, record_id)
         JOIN kyc_records r ON r.id = k.record_id
         WHERE k.cluster_id = b.cluster_id AND r.msisdn = b.msisdn)`,
    [clusterIds, candidates.map((c) => c.clusterId), candidates.map((c) => c.recordId)],
  );
  if (candidates.length === 0) return;
  await client.query(
    `INSERT INTO block_candidates (cluster_id, record_id, operator_id, msisdn, reasons, score, evidence)
     SELECT DISTINCT ON (r.msisdn, v.cluster_id) v.cluster_id, r.id, r.operator_id, r.msisdn,
       string_to_array(v.reasons, ','), v.score, v.evidence
     FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::real[], $5::jsonb[])
       AS v(cluster_id, record_id, reasons, score, evidence)
     JOIN kyc_records r ON r.id = v.record_id
     ORDER BY r.msisdn, v.cluster_id, v.score DESC, r.id DESC
     ON CONFLICT (msisdn, cluster_id) DO UPDATE SET reasons = EXCLUDED.reasons, score = EXCLUDED.score,
       evidence = EXCLUDED.evidence, record_id = EXCLUDED.record_id, updated_at = now()`,
    [
      candidates.map((c) => c.clusterId),
      candidates.map((c) => c.recordId),
      candidates.map((c) => c.reasons.join(',')),
      candidates.map((c) => c.score),
      candidates.map((c) => JSON.stringify(c.evidence)),
    ],
  );
}

/** Candidates follow their faces into the surviving cluster of a merge; a number already there keeps its row. */
export async function moveCandidatesOnMerge(client: PoolClient, intoId: number, absorbedId: number): Promise<void> {
  await client.query(
    `UPDATE block_candidates b SET cluster_id = $1::bigint, updated_at = now()
     WHERE b.cluster_id = $2::bigint AND NOT EXISTS
       (SELECT 1 FROM block_candidates k WHERE k.cluster_id = $1::bigint AND k.msisdn = b.msisdn)`,
    [intoId, absorbedId],
  );
  await dropPendingCandidatesOfClusters(client, [absorbedId]);
}

/** Pending candidates of clusters that are gone; decided ones stay on record. */
export async function dropPendingCandidatesOfClusters(
  client: PoolClient,
  clusterIds: readonly number[],
): Promise<void> {
  await client.query("DELETE FROM block_candidates WHERE cluster_id = ANY($1::bigint[]) AND status = 'pending'", [
    clusterIds,
  ]);
}

/** A record's candidate that belongs to no cluster (NO_USABLE_FACE), upserted. */
export async function writeRecordCandidate(client: PoolClient, candidate: RecordCandidateWrite): Promise<void> {
  await client.query(
    `INSERT INTO block_candidates (cluster_id, record_id, operator_id, msisdn, reasons, score, evidence)
     SELECT NULL, r.id, r.operator_id, r.msisdn, $2::text[], $3::real, $4::jsonb
     FROM kyc_records r WHERE r.id = $1::bigint
     ON CONFLICT (record_id) WHERE cluster_id IS NULL
     DO UPDATE SET reasons = EXCLUDED.reasons, evidence = EXCLUDED.evidence, updated_at = now()`,
    [candidate.recordId, candidate.reasons, candidate.score, JSON.stringify(candidate.evidence)],
  );
}

/** A face found on a retry withdraws the record's candidate without a cluster, unless someone decided it. */
export async function withdrawRecordCandidate(client: PoolClient, recordId: number): Promise<void> {
  await client.query(
    `DELETE FROM block_candidates WHERE record_id = $1::bigint AND cluster_id IS NULL AND status = 'pending'`,
    [recordId],
  );
}

/** A candidate's decision as the audit log keeps it: by record id, never by the subscriber's number. */
export interface CandidateStatus {
  recordId: number;
  status: string;
  decisionReason: string | null;
}

/**
 * An analyst's decisions on a cluster's candidates (exported ones are final and left alone), with the rows'
 * statuses before (locked) and after, for the audit row the caller writes in the same transaction.
 */
export async function decideCandidates(
  client: PoolClient,
  clusterId: number,
  decisions: readonly { msisdn: string; status: string; reason: string | null }[],
  meta: { actor: string; source: string; note: string | null },
): Promise<{ before: CandidateStatus[]; after: CandidateStatus[] }> {
  const before = await client.query<CandidateStatus>(
    `SELECT record_id AS "recordId", status, decision_reason AS "decisionReason" FROM block_candidates
     WHERE cluster_id = $1::bigint AND msisdn = ANY($2::text[]) AND status <> 'exported'
     ORDER BY record_id FOR UPDATE`,
    [clusterId, decisions.map((d) => d.msisdn)],
  );
  const after = await client.query<CandidateStatus>(
    `UPDATE block_candidates b SET status = d.status, decision_reason = d.reason, decided_at = now(),
       decided_by = $5::text, source = $6::text, decision_note = $7::text, updated_at = now()
     FROM unnest($2::text[], $3::text[], $4::text[]) AS d(msisdn, status, reason)
     WHERE b.cluster_id = $1::bigint AND b.msisdn = d.msisdn AND b.status <> 'exported'
     RETURNING b.record_id AS "recordId", b.status, b.decision_reason AS "decisionReason"`,
    [
      clusterId,
      decisions.map((d) => d.msisdn),
      decisions.map((d) => d.status),
      decisions.map((d) => d.reason),
      meta.actor,
      meta.source,
      meta.note,
    ],
  );
  return { before: before.rows, after: [...after.rows].sort((a, b) => a.recordId - b.recordId) };
}

/** Candidates put in an export: stamped with it, and confirmed ones become exported (final). */
export async function markCandidatesExported(
  client: PoolClient,
  candidateIds: readonly number[],
  exportId: number,
): Promise<void> {
  await client.query(
    `UPDATE block_candidates SET export_id = $2::bigint, exported_at = now(), updated_at = now(),
       status = CASE WHEN status = 'confirmed' THEN 'exported' ELSE status END
     WHERE id = ANY($1::bigint[])`,
    [candidateIds, exportId],
  );
}

/** Operators' re-verification outcomes on their confirmed or exported numbers; returns each updated row's number. */
export async function recordReverificationOutcomes(
  client: PoolClient,
  operatorId: number,
  items: readonly { msisdn: string; outcome: string }[],
): Promise<string[]> {
  const updated = await client.query<{ msisdn: string }>(
    `UPDATE block_candidates b SET reverification = i.outcome, reverified_at = now(), updated_at = now()
     FROM unnest($2::text[], $3::text[]) AS i(msisdn, outcome)
     WHERE b.operator_id = $1::bigint AND b.msisdn = i.msisdn AND b.status IN ('confirmed', 'exported')
     RETURNING b.msisdn`,
    [operatorId, items.map((i) => i.msisdn), items.map((i) => i.outcome)],
  );
  return updated.rows.map((row) => row.msisdn);
}

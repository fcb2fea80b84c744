import { createHash } from 'node:crypto';
import type { ReadStream } from 'node:fs';
import { insertAuditEntry } from './audit.repository.js';
import { markCandidatesExported, recordReverificationOutcomes } from './block-candidate.repository.js';
import { withTransaction, type Pool, type PoolClient } from './database.js';
import { FileStore } from './file-store.repository.js';

/** One number on a block list, as the export's rows are built from it. */
export interface ExportCandidate {
  candidateId: number;
  msisdn: string;
  operator: string;
  lsa: string;
  reasons: string[];
  clusterId: number | null;
  status: string;
  decidedAt: string | null;
  decidedBy: string | null;
  source: string;
}

/** The last row of the audit chain: its seq and sha256 (hex). */
export interface AuditHead {
  seq: number;
  hash: string;
}

export interface ExportRecord {
  id: number;
  operator: string;
  statuses: string[];
  since: string | null;
  full: boolean;
  rowCount: number;
  csvSha256: string;
  jsonSha256: string;
  createdBy: string;
  createdAt: string;
}

const EXPORT_COLUMNS = `e.id, o.code AS operator, e.statuses, to_json(e.since)#>>'{}' AS since, e.full_export AS full,
  e.row_count AS "rowCount", e.csv_sha256 AS "csvSha256", e.json_sha256 AS "jsonSha256",
  e.created_by AS "createdBy", to_json(e.created_at)#>>'{}' AS "createdAt"`;

const sha256 = (content: string) => createHash('sha256').update(content).digest('hex');

/**
 * Block-list exports: files under `<dataDir>/exports/`, their checksums and the numbers they hold, written in
 * one transaction with the candidates' move to `exported` and the audit row.
 */
export class ExportRepository {
  private readonly files: FileStore;

  constructor(
    private readonly pool: Pool,
    dataDir: string,
  ) {
    this.files = new FileStore(dataDir);
  }

  /**
   * Runs `work` in one transaction holding the operator's export lock: one export per operator at a time, so two
   * concurrent exports never hold the same number. The caller (ExportService) drives the steps through `tx`.
   */
  async inExportTransaction<T>(operatorId: number, work: (tx: ExportTransaction) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1::integer, $2::integer)', [0x5157_0003, operatorId]);
      return work(new ExportTransaction(client, this.files));
    });
  }

  async list(operatorId: number | null, limit: number): Promise<ExportRecord[]> {
    const result = await this.pool.query<ExportRecord>(
      `SELECT ${EXPORT_COLUMNS} FROM exports e JOIN operators o ON o.id = e.operator_id
       WHERE ($1::bigint IS NULL OR e.operator_id = $1::bigint) ORDER BY e.id DESC LIMIT $2::integer`,
      [operatorId, limit],
    );
    return result.rows;
  }

  /**
   * An export file the caller may download: null when there is no such export for them, `{ stream: null }` when
   * its file is gone from the data dir.
   */
  async openFile(
    id: number,
    format: 'csv' | 'json',
    operatorId: number | null,
  ): Promise<{ stream: ReadStream | null } | null> {
    const result = await this.pool.query<{ path: string }>(
      `SELECT CASE WHEN $2::text = 'csv' THEN csv_path ELSE json_path END AS path FROM exports
       WHERE id = $1::bigint AND ($3::bigint IS NULL OR operator_id = $3::bigint)`,
      [id, format, operatorId],
    );
    const relative = result.rows[0]?.path;
    return relative ? { stream: await this.files.openForReading(this.files.resolve(relative)) } : null;
  }

  /**
   * Operators' re-verification outcomes for their confirmed or exported numbers, with the audit row.
   * Returns the numbers that matched none.
   */
  async recordReverifications(
    operatorId: number,
    items: readonly { msisdn: string; outcome: string }[],
    meta: { actor: string; apiKeyId: number | null },
  ): Promise<{ updated: number; unknown: string[] }> {
    return withTransaction(this.pool, async (client) => {
      const updated = await recordReverificationOutcomes(client, operatorId, items);
      const matched = new Set(updated);
      await insertAuditEntry(client, {
        apiKeyId: meta.apiKeyId,
        actor: meta.actor,
        action: 'reverification.record',
        entity: 'operator',
        entityId: String(operatorId),
        // Counts per outcome: the audit log keeps no subscriber's number.
        details: { count: items.length },
        after: { outcomes: countBy(items.filter((i) => matched.has(i.msisdn)).map((i) => i.outcome)) },
      });
      return { updated: updated.length, unknown: items.map((i) => i.msisdn).filter((m) => !matched.has(m)) };
    });
  }
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export interface ExportRequest {
  operatorId: number;
  statuses: string[];
  since: string | null;
  full: boolean;
}

/** The steps of one export, inside its transaction (see ExportRepository.inExportTransaction). */
export class ExportTransaction {
  constructor(
    private readonly client: PoolClient,
    private readonly files: FileStore,
  ) {}

  /** The operator's candidates to export, locked until the transaction ends. */
  async candidates(request: ExportRequest): Promise<ExportCandidate[]> {
    // Statuses 'exported' rows had before, so a full re-export still lists them.
    const statuses = request.full ? [...request.statuses, 'exported'] : request.statuses;
    const selected = await this.client.query<ExportCandidate>(
      `SELECT b.id AS "candidateId", b.msisdn, o.code AS operator, r.lsa, b.reasons, b.cluster_id AS "clusterId",
         b.status, to_json(b.decided_at)#>>'{}' AS "decidedAt", b.decided_by AS "decidedBy", b.source
       FROM block_candidates b JOIN kyc_records r ON r.id = b.record_id JOIN operators o ON o.id = b.operator_id
       WHERE b.operator_id = $1::bigint AND b.status = ANY($2::text[])
         AND ($3::boolean OR b.export_id IS NULL)
         AND ($4::timestamptz IS NULL OR b.decided_at >= $4::timestamptz)
       ORDER BY b.msisdn, b.id FOR UPDATE OF b`,
      [request.operatorId, statuses, request.full, request.since],
    );
    return selected.rows;
  }

  /**
   * The audit chain's end as the export is made: delivered outside the database, it anchors the chain (a
   * rewritten log no longer reaches this hash at this seq).
   */
  async auditHead(): Promise<AuditHead> {
    const head = await this.client.query<AuditHead>(`SELECT seq, encode(hash, 'hex') AS hash FROM audit_head`);
    return head.rows[0]!;
  }

  /**
   * Records the export: its row, its two files (written whole, then renamed into place), the candidates marked
   * exported, and the audit row with the files' sha256.
   */
  async record(
    request: ExportRequest,
    candidateIds: readonly number[],
    content: { csv: string; json: string },
    meta: { actor: string; apiKeyId: number | null },
  ): Promise<ExportRecord> {
    const { client } = this;
    const { csv, json } = content;
    const inserted = await client.query<{ id: number }>(
      `INSERT INTO exports (operator_id, statuses, since, full_export, row_count, csv_path, csv_sha256,
         json_path, json_sha256, created_by)
       VALUES ($1::bigint, $2::text[], $3::timestamptz, $4::boolean, $5::integer, '', $6::text, '', $7::text,
         $8::text) RETURNING id`,
      [
        request.operatorId,
        request.statuses,
        request.since,
        request.full,
        candidateIds.length,
        sha256(csv),
        sha256(json),
        meta.actor,
      ],
    );
    const id = inserted.rows[0]!.id;
    const files = { csv: this.files.exportFile(id, 'csv'), json: this.files.exportFile(id, 'json') };
    for (const [kind, text] of [
      ['csv', csv],
      ['json', json],
    ] as const) {
      await this.files.writeAtomically(files[kind], text);
    }
    await client.query('UPDATE exports SET csv_path = $2::text, json_path = $3::text WHERE id = $1::bigint', [
      id,
      files.csv,
      files.json,
    ]);
    await markCandidatesExported(client, [...candidateIds], id);
    await insertAuditEntry(client, {
      apiKeyId: meta.apiKeyId,
      actor: meta.actor,
      action: 'export.create',
      entity: 'export',
      entityId: String(id),
      details: { operatorId: request.operatorId, statuses: request.statuses, since: request.since, full: request.full },
      after: { rowCount: candidateIds.length, csvSha256: sha256(csv), jsonSha256: sha256(json) },
    });
    return (
      await client.query<ExportRecord>(
        `SELECT ${EXPORT_COLUMNS} FROM exports e JOIN operators o ON o.id = e.operator_id WHERE e.id = $1::bigint`,
        [id],
      )
    ).rows[0]!;
  }
}

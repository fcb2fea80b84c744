import type { Pool, PoolClient } from './database.js';

export interface AuditEntry {
  apiKeyId: number | null;
  /** Who acted, for humans: `key:<id>` or `cli`. */
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  /** Never holds identity document numbers. */
  details: Record<string, unknown>;
}

export class AuditRepository {
  constructor(private readonly pool: Pool) {}

  async record(entry: AuditEntry): Promise<void> {
    await insertAuditEntry(this.pool, entry);
  }
}

/** Writes one audit entry on the given connection, so callers can make it part of their transaction. */
export async function insertAuditEntry(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (api_key_id, actor, action, entity, entity_id, details)
       VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::jsonb)`,
    [entry.apiKeyId, entry.actor, entry.action, entry.entity, entry.entityId, JSON.stringify(entry.details)],
  );
}

import { createHash } from 'node:crypto';

/*
 * How an audit row is hashed into the chain: shared by the repository that appends rows and the service that
 * verifies them, so neither layer imports the other for it.
 */

/** prev_hash of the first row in the chain. */
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/**
 * One audit row as the chain hashes it. JSON values are carried as Postgres' jsonb text (its canonical form:
 * sorted keys, one spelling per number) so that the hash can be recomputed from the stored row exactly.
 */
export interface AuditChainContent {
  seq: number;
  prevHash: Buffer;
  /** `at` in UTC with microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as Postgres prints and re-reads it. */
  occurredAt: string;
  apiKeyId: number | null;
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  details: string;
  before: string | null;
  after: string | null;
}

/** Stable serialisation: object keys sorted, no whitespace. Only plain JSON values are expected. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 of the row's canonical content; migrations/0008_audit_chain.sql builds the same text in SQL. */
export function auditChainHash(row: AuditChainContent): Buffer {
  const material = canonicalJson({
    action: row.action,
    actor: row.actor,
    after: row.after,
    api_key_id: row.apiKeyId,
    before: row.before,
    details: row.details,
    entity: row.entity,
    entity_id: row.entityId,
    occurred_at: row.occurredAt,
    prev_hash: row.prevHash.toString('hex'),
    seq: row.seq,
  });
  return createHash('sha256').update(material, 'utf8').digest();
}

import pg from 'pg';
import { auditChainHash } from '../audit-chain-hash.js';
import type { AuditChainReader, AuditChainRow, AuditChainSnapshot } from '../services/audit-chain.service.js';
import { withTransaction, type Pool, type PoolClient } from './database.js';

export interface AuditEntry {
  apiKeyId: number | null;
  /** Who acted, for humans: `key:<id>` or `cli`. */
  actor: string;
  action: string;
  entity: string;
  entityId: string;
  /** Never holds identity document numbers. */
  details: Record<string, unknown>;
  /** The subject's state before and after the change, when the action changes one. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
}

// `at` as the hash covers it: UTC, microseconds, re-readable by timestamptz input without loss.
const OCCURRED_AT = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

export class AuditRepository implements AuditChainReader {
  constructor(private readonly pool: Pool) {}

  async record(entry: AuditEntry): Promise<void> {
    await insertAuditEntry(this.pool, entry);
  }

  /** Reads the chain in one REPEATABLE READ snapshot, so rows appended meanwhile do not look like tampering. */
  async withSnapshot<T>(work: (snapshot: AuditChainSnapshot) => Promise<T>): Promise<T> {
    return withTransaction(
      this.pool,
      async (client) => {
        const head = (await client.query<{ seq: number; hash: Buffer }>('SELECT seq, hash FROM audit_head')).rows[0];
        if (!head) throw new Error('audit_head is missing: run the migrations');
        return work({ head, page: (afterSeq, limit) => readChainPage(client, afterSeq, limit) });
      },
      'ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }
}

async function readChainPage(client: PoolClient, afterSeq: number, limit: number): Promise<AuditChainRow[]> {
  const { rows } = await client.query<AuditChainRow>(
    `SELECT seq, prev_hash AS "prevHash", hash,
            to_char(at AT TIME ZONE 'UTC', ${OCCURRED_AT}) AS "occurredAt",
            api_key_id AS "apiKeyId", actor, action, entity, entity_id AS "entityId",
            details::text AS details, before::text AS before, after::text AS after
       FROM audit_log
      WHERE seq > $1::bigint
      ORDER BY seq
      LIMIT $2::integer`,
    [afterSeq, limit],
  );
  return rows;
}

/**
 * Appends one entry to the hash-chained audit trail. With a client, the entry becomes part of the caller's
 * open transaction (the client must be inside BEGIN); with a pool, it runs in a transaction of its own.
 */
export async function insertAuditEntry(db: Pool | PoolClient, entry: AuditEntry): Promise<void> {
  if (db instanceof pg.Pool) {
    await withTransaction(db, (client) => appendAuditEntry(client, entry));
  } else {
    await appendAuditEntry(db, entry);
  }
}

async function appendAuditEntry(client: PoolClient, entry: AuditEntry): Promise<void> {
  // Locking the head row serialises appenders across processes until this transaction ends. The timestamp is
  // taken after the lock so it grows with seq; jsonb text is what the verifier will read back and hash.
  const { rows } = await client.query<{
    seq: number;
    hash: Buffer;
    occurredAt: string;
    details: string;
    before: string | null;
    after: string | null;
  }>(
    `SELECT seq, hash, to_char(clock_timestamp() AT TIME ZONE 'UTC', ${OCCURRED_AT}) AS "occurredAt",
            $1::jsonb::text AS details, $2::jsonb::text AS before, $3::jsonb::text AS after
       FROM audit_head
        FOR UPDATE`,
    [
      JSON.stringify(entry.details),
      entry.before == null ? null : JSON.stringify(entry.before),
      entry.after == null ? null : JSON.stringify(entry.after),
    ],
  );
  const head = rows[0];
  if (!head) throw new Error('audit_head is missing: run the migrations');
  const content = {
    seq: head.seq + 1,
    prevHash: head.hash,
    occurredAt: head.occurredAt,
    apiKeyId: entry.apiKeyId,
    actor: entry.actor,
    action: entry.action,
    entity: entry.entity,
    entityId: entry.entityId,
    details: head.details,
    before: head.before,
    after: head.after,
  };
  const hash = auditChainHash(content);
  await client.query(
    `INSERT INTO audit_log (seq, prev_hash, hash, at, api_key_id, actor, action, entity, entity_id, details,
                            before, after)
       VALUES ($1::bigint, $2::bytea, $3::bytea, $4::timestamptz, $5::bigint, $6::text, $7::text, $8::text,
               $9::text, $10::jsonb, $11::jsonb, $12::jsonb)`,
    [
      content.seq,
      content.prevHash,
      hash,
      content.occurredAt,
      content.apiKeyId,
      content.actor,
      content.action,
      content.entity,
      content.entityId,
      content.details,
      content.before,
      content.after,
    ],
  );
  await client.query('UPDATE audit_head SET seq = $1::bigint, hash = $2::bytea', [content.seq, hash]);
}

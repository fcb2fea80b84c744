import type { ChangeFeed } from './change-feed.repository.js';
import type { Pool } from './database.js';
import { NotifiedCache } from './notified-cache.js';

/** `checker`: a shop's key, bound to an operator, that may only run pre-activation checks. */
export type Role = 'operator' | 'checker' | 'analyst' | 'admin';

export interface ApiKeyRecord {
  id: number;
  role: Role;
  operatorId: number | null;
  operatorCode: string | null;
  keyPrefix: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

const COLUMNS = `k.id, k.role, k.operator_id AS "operatorId", o.code AS "operatorCode", k.key_prefix AS "keyPrefix",
  k.label, to_json(k.created_at)#>>'{}' AS "createdAt", to_json(k.revoked_at)#>>'{}' AS "revokedAt"`;

export class ApiKeyRepository {
  // Every authenticated request looks its key up: with a change feed, active keys are served from memory and
  // dropped the moment any key or operator changes (revocation included).
  private readonly activeByHash: NotifiedCache<ApiKeyRecord>;

  constructor(
    private readonly pool: Pool,
    changes: ChangeFeed | null = null,
  ) {
    this.activeByHash = new NotifiedCache(changes, 'simsift_api_keys', { ttlMs: 10_000, maxEntries: 10_000 });
  }

  async insert(input: {
    keyHash: Buffer;
    keyPrefix: string;
    role: Role;
    operatorId: number | null;
    label: string | null;
  }): Promise<number> {
    const result = await this.pool.query<{ id: number }>(
      `INSERT INTO api_keys (key_hash, key_prefix, role, operator_id, label)
       VALUES ($1::bytea, $2::text, $3::text, $4::bigint, $5::text) RETURNING id`,
      [input.keyHash, input.keyPrefix, input.role, input.operatorId, input.label],
    );
    return result.rows[0]!.id;
  }

  /** The active key with this hash, or null when unknown or revoked. */
  findActiveByHash(keyHash: Buffer): Promise<ApiKeyRecord | null> {
    return this.activeByHash.get(keyHash.toString('hex'), async () => {
      // Named, so each connection plans it once.
      const result = await this.pool.query<ApiKeyRecord>({
        name: 'api-key-by-hash',
        text: `SELECT ${COLUMNS} FROM api_keys k LEFT JOIN operators o ON o.id = k.operator_id
         WHERE k.key_hash = $1::bytea AND k.revoked_at IS NULL`,
        values: [keyHash],
      });
      return result.rows[0] ?? null;
    });
  }

  async revoke(id: number): Promise<boolean> {
    const result = await this.pool.query(
      'UPDATE api_keys SET revoked_at = now() WHERE id = $1::bigint AND revoked_at IS NULL',
      [id],
    );
    // This process stops accepting the key now; others when the trigger's notification reaches them.
    this.activeByHash.invalidateAll();
    return result.rowCount === 1;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (
      await this.pool.query<ApiKeyRecord>(
        `SELECT ${COLUMNS} FROM api_keys k LEFT JOIN operators o ON o.id = k.operator_id ORDER BY k.id`,
      )
    ).rows;
  }
}

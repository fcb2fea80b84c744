import type { Pool } from './database.js';
import type { ApiKeyRecord } from './api-key.repository.js';

export interface SessionRecord {
  key: Pick<ApiKeyRecord, 'id' | 'role' | 'operatorId' | 'operatorCode'>;
  csrfToken: string;
  expiresAt: string;
}

/** Browser sessions, stored by the sha256 of their token; a session lives no longer than its API key. */
export class SessionRepository {
  constructor(private readonly pool: Pool) {}

  async create(input: { tokenHash: Buffer; apiKeyId: number; csrfToken: string; ttlSeconds: number }) {
    const result = await this.pool.query<{ expiresAt: string }>(
      `INSERT INTO sessions (token_hash, api_key_id, csrf_token, expires_at)
       VALUES ($1::bytea, $2::bigint, $3::text, now() + make_interval(secs => $4::integer))
       RETURNING to_json(expires_at)#>>'{}' AS "expiresAt"`,
      [input.tokenHash, input.apiKeyId, input.csrfToken, input.ttlSeconds],
    );
    // Expired sessions are swept here rather than by a timer: sign-ins are rare and this keeps the table small.
    await this.pool.query('DELETE FROM sessions WHERE expires_at < now()');
    return result.rows[0]!.expiresAt;
  }

  /** The live session with this token hash: not expired, and its key not revoked. */
  async findActive(tokenHash: Buffer): Promise<SessionRecord | null> {
    const result = await this.pool.query<{
      id: number;
      role: ApiKeyRecord['role'];
      operatorId: number | null;
      operatorCode: string | null;
      csrfToken: string;
      expiresAt: string;
    }>(
      `SELECT k.id, k.role, k.operator_id AS "operatorId", o.code AS "operatorCode", s.csrf_token AS "csrfToken",
         to_json(s.expires_at)#>>'{}' AS "expiresAt"
       FROM sessions s JOIN api_keys k ON k.id = s.api_key_id LEFT JOIN operators o ON o.id = k.operator_id
       WHERE s.token_hash = $1::bytea AND s.expires_at > now() AND k.revoked_at IS NULL`,
      [tokenHash],
    );
    const row = result.rows[0];
    if (!row) return null;
    return {
      key: { id: row.id, role: row.role, operatorId: row.operatorId, operatorCode: row.operatorCode },
      csrfToken: row.csrfToken,
      expiresAt: row.expiresAt,
    };
  }

  async delete(tokenHash: Buffer): Promise<void> {
    await this.pool.query('DELETE FROM sessions WHERE token_hash = $1::bytea', [tokenHash]);
  }
}

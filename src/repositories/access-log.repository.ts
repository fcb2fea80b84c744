import type { Pool } from './database.js';

export interface AccessEntry {
  apiKeyId: number | null;
  actor: string;
  /** What was read, e.g. `photo.view`. */
  action: string;
  /** The route pattern, e.g. `/v1/faces/:id/photo`. */
  route: string;
  entityId: string | null;
  status: number;
}

/** The append-only log of reads of personal data (migration 0018). */
export class AccessLogRepository {
  constructor(private readonly pool: Pool) {}

  async record(entry: AccessEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO access_log (api_key_id, actor, action, route, entity_id, status)
       VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::integer)`,
      [entry.apiKeyId, entry.actor, entry.action, entry.route, entry.entityId, entry.status],
    );
  }
}

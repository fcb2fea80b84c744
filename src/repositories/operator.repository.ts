import type { Pool } from './database.js';

export interface Operator {
  id: number;
  code: string;
  name: string;
  createdAt: string;
}

const COLUMNS = `id, code, name, to_json(created_at)#>>'{}' AS "createdAt"`;

export class OperatorRepository {
  constructor(private readonly pool: Pool) {}

  /** Creates the operator, or returns the existing one with that code (names are not overwritten). */
  async upsert(code: string, name: string): Promise<{ operator: Operator; created: boolean }> {
    const inserted = await this.pool.query<Operator>(
      `INSERT INTO operators (code, name) VALUES ($1::text, $2::text)
       ON CONFLICT (code) DO NOTHING RETURNING ${COLUMNS}`,
      [code, name],
    );
    if (inserted.rows[0]) return { operator: inserted.rows[0], created: true };
    const existing = await this.findByCode(code);
    if (!existing) throw new Error(`operator ${code} vanished during upsert`);
    return { operator: existing, created: false };
  }

  async findByCode(code: string): Promise<Operator | null> {
    const result = await this.pool.query<Operator>(`SELECT ${COLUMNS} FROM operators WHERE code = $1::text`, [code]);
    return result.rows[0] ?? null;
  }

  async findById(id: number): Promise<Operator | null> {
    const result = await this.pool.query<Operator>(`SELECT ${COLUMNS} FROM operators WHERE id = $1::bigint`, [id]);
    return result.rows[0] ?? null;
  }

  async list(): Promise<Operator[]> {
    return (await this.pool.query<Operator>(`SELECT ${COLUMNS} FROM operators ORDER BY code`)).rows;
  }
}

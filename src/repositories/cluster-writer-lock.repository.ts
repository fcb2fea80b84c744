import type { Pool } from './database.js';

// Held while clustering: two cluster workers (on two machines) never write at once.
const CLUSTER_WRITER_LOCK = 0x5157_0002;

export class ClusterWriterBusyError extends Error {}

/** Runs `work` as the one cluster writer (a Postgres advisory lock); throws ClusterWriterBusyError if taken. */
export async function withClusterWriterLock<T>(pool: Pool, work: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    const locked = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
      CLUSTER_WRITER_LOCK,
    ]);
    if (!locked.rows[0]?.ok) throw new ClusterWriterBusyError('another cluster writer is running');
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [CLUSTER_WRITER_LOCK]);
    }
  } finally {
    client.release();
  }
}

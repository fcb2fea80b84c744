import type { FastifyInstance } from 'fastify';
import type { AccessEntry } from '../repositories/access-log.repository.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Set on routes that answer with personal data (`photo.view`, `records.list`, ...): every successful answer
     * is logged in access_log, before it is sent.
     */
    personalData?: string;
  }
}

/**
 * Logs each read of personal data: who (the key), what (the route's `personalData` action, its pattern and path
 * parameters, never query values, which may hold a number), and the status. The row is written before the answer
 * goes out, and a read that cannot be logged fails (503 when Postgres is down) rather than leave no trace.
 */
export function registerAccessLog(app: FastifyInstance, log: { record(entry: AccessEntry): Promise<void> }): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const action = request.routeOptions.config.personalData;
    const principal = request.principal;
    if (!action || !principal || reply.statusCode >= 300) return payload;
    const params = Object.values((request.params ?? {}) as Record<string, unknown>).map(String);
    await log.record({
      apiKeyId: principal.keyId,
      actor: `key:${principal.keyId}`,
      action,
      route: request.routeOptions.url ?? request.url.split('?')[0]!,
      entityId: params.length > 0 ? params.join('/') : null,
      status: reply.statusCode,
    });
    return payload;
  });
}

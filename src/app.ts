import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Container } from './container.js';
import { ApiMetrics } from './metrics/api.metrics.js';
import { registerAccessLog } from './plugins/access-log.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandler } from './plugins/error-handler.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerQueueDashboard } from './plugins/queue-dashboard.js';
import { registerOpenApi } from './plugins/openapi.js';
import { OneLinePerRequest } from './plugins/request-log.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { adminRoutes } from './routes/admin/index.js';
import { batchRoutes } from './routes/batches/index.js';
import { checkRoutes } from './routes/checks/index.js';
import { sessionRoutes } from './routes/session/index.js';
import { exportRoutes } from './routes/exports/index.js';
import { agentRoutes } from './routes/agents/index.js';
import { blockCandidateRoutes } from './routes/block-candidates/index.js';
import { clusterRoutes } from './routes/clusters/index.js';
import { decisionRoutes } from './routes/decisions/index.js';
import { faceRoutes } from './routes/faces/index.js';
import { NAMED_SCHEMAS } from './routes/named-schemas.js';
import { healthRoutes } from './routes/health/index.js';
import { webRoutes } from './routes/web/index.js';

export interface BuildAppOptions {
  container: Container;
  logger: FastifyBaseLogger;
}

/** Builds the HTTP API (plugins, routes, error handler) without listening, so tests can drive it directly. */
export async function buildApp({ container, logger }: BuildAppOptions): Promise<FastifyInstance> {
  const { trustProxy } = container.config;
  const app = Fastify({
    loggerInstance: logger,
    // JSON bodies are small (admin calls); uploads stream through their own parsers and limits.
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    requestIdHeader: 'x-request-id',
    // A client that goes quiet mid-request (a slowloris trickling an upload) loses its socket.
    connectionTimeout: container.config.idleTimeoutMs,
    requestTimeout: container.config.requestTimeoutMs,
    // Which proxies' X-Forwarded-For gives request.ip (the failed-key limiter and logs use it). A hop count is
    // proxy-addr's "trust the n nearest hops", written as the function Fastify's types accept.
    trustProxy: typeof trustProxy === 'number' ? (_address: string, hop: number) => hop < trustProxy : trustProxy,
    logController: new OneLinePerRequest(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of NAMED_SCHEMAS) app.addSchema(schema);
  registerErrorHandler(app);
  // Security headers on every response. The API serves no cross-origin pages: no CORS plugin, so browsers on
  // other origins cannot read its answers. /ui/ replaces the CSP with its own stricter one (routes/web).
  registerSecurityHeaders(app);
  await registerOpenApi(app, {
    exposeDocs: container.config.exposeDocs,
    secureCookies: container.config.secureCookies,
  });
  // Made before the auth plugin, which counts refused credentials into it.
  const metrics = new ApiMetrics([container.facesQueue, container.clusterQueue]);
  await registerAuth(app, container.auth, {
    maxFailuresPerMinute: container.config.maxAuthFailuresPerMinute,
    secureCookies: container.config.secureCookies,
    metrics,
  });
  registerAccessLog(app, container.accessLog);
  registerMetrics(app, metrics, { expose: container.config.exposeMetrics });
  await app.register(healthRoutes, { container });
  await app.register(adminRoutes, { container });
  await app.register(batchRoutes, { container });
  await app.register(clusterRoutes, { container });
  await app.register(decisionRoutes, { container });
  await app.register(blockCandidateRoutes, { container });
  await app.register(agentRoutes, { container });
  await app.register(faceRoutes, { container });
  await app.register(checkRoutes, { container });
  await app.register(webRoutes);
  await app.register(sessionRoutes, { container });
  await app.register(exportRoutes, { container });
  const { queueDashboard } = container.config;
  if (queueDashboard !== 'off') {
    await registerQueueDashboard(app, {
      queues: container.queueDashboard.boardQueues({ readOnly: queueDashboard !== 'write' }),
      write: queueDashboard === 'write',
      auth: container.auth,
      secureCookies: container.config.secureCookies,
    });
  }
  return app;
}

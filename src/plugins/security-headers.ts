import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * helmet's security headers on every answer. The middleware is built once: @fastify/helmet rebuilds it (and
 * re-parses the CSP) on every request, which measured 8.5% of the API's CPU under the `bench -- api` load.
 * Routes that need stricter headers (the review UI) overwrite them in their handlers.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const applyHeaders = helmet({
    contentSecurityPolicy: {
      // Deployments may serve plain HTTP inside a private network; upgrading there would break /docs and /ui.
      directives: { upgradeInsecureRequests: null },
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    applyHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined));
  });
}

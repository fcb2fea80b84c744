import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

/**
 * The headers helmet sets with these options. They do not depend on the request (no CSP nonce), so helmet runs
 * once, against a recording response, instead of its dozen middlewares on every request: the API's polled reads
 * spent 4.8% of their CPU in helmet (profiled under `bench -- api`).
 */
export function helmetHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: Error | null = null;
  helmet({
    contentSecurityPolicy: {
      // Deployments may serve plain HTTP inside a private network; upgrading there would break /docs and /ui.
      directives: { upgradeInsecureRequests: null },
    },
  })({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) failure = error instanceof Error ? error : new Error('helmet failed', { cause: error });
  });
  if (failure) throw failure as Error;
  return headers;
}

/** helmet's security headers on every answer. Routes that need stricter ones (the review UI) overwrite them. */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const headers = helmetHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
}

import type { FastifyInstance } from 'fastify';

/**
 * One log line per request, when it completes, in place of Fastify's two (incoming, completed). Under
 * `bench -- api` at LOG_LEVEL=info the pair cost the polled status reads 95-112 µs of CPU per request, one line
 * 86-93. The line keeps what the pair said: request id (from the logger's bindings), method, URL, client
 * address, status and time.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      {
        req: { method: request.method, url: request.url, remoteAddress: request.ip },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
    done();
  });
}

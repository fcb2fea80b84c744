import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsEndpoint {
  /** e.g. http://127.0.0.1:9400/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

// A scrape is one small GET: a client that takes longer than this to send it is holding a socket, not scraping.
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Serves `GET /metrics` from `registry` on its own small HTTP server: a worker process has no Fastify app, and
 * its metrics must not share a port with anything public. Rejects when the port cannot be bound (in use, not
 * allowed), so a misconfigured worker says so at start instead of serving no metrics without a word.
 */
export async function startMetricsServer(
  registry: Registry,
  { host, port }: { host: string; port: number },
): Promise<MetricsEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}/metrics`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Prometheus keeps its connection alive between scrapes: without this, close waits for it to time out.
        server.closeAllConnections();
      }),
  };
}

/** This worker process's metrics endpoint as configured (config.workerMetrics), or null when it is off (port 0). */
export async function serveWorkerMetrics(
  settings: { port: number; host: string },
  registry: Registry,
  logger: { info(details: object, message: string): void },
): Promise<MetricsEndpoint | null> {
  if (settings.port === 0) return null;
  const endpoint = await startMetricsServer(registry, settings);
  logger.info({ url: endpoint.url }, 'worker metrics endpoint listening');
  return endpoint;
}

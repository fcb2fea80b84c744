import { createBullBoard } from '@bull-board/api';
import type { BaseAdapter } from '@bull-board/api/baseAdapter';
import type { HookContext } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService } from '../services/auth.service.js';

/** Where the dashboard is mounted. */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * The cookie bull-board's client (axios, with its defaults) reads on every same-origin request and echoes in
 * `x-xsrf-token`: the way a cookie session's CSRF token reaches a page this project did not write.
 */
const XSRF_COOKIE = 'XSRF-TOKEN';
const XSRF_HEADER = 'x-xsrf-token';

/**
 * What `write` mode lets an admin do to jobs: retry them, run delayed ones now, remove them. The rest bull-board
 * offers stays refused: adding or editing a job puts payloads the job registry did not build into the pipeline,
 * emptying or obliterating a queue drops every waiting record at once (left to the watchdog), and pausing a queue
 * or changing its concurrency or rate limit changes how the workers run, which is configuration, not a job fix.
 */
const ALLOWED_WRITES = new Set([
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/promote',
  'put /api/queues/:queueName/:jobId/promote',
  'put /api/queues/:queueName/clean/:queueStatus',
  'put /api/queues/:queueName/:jobId/clean',
]);

/**
 * The review UI's policy (routes/web) with the two things bull-board's page cannot do without, found by loading it
 * in Chromium: its HTML sets `<base href="/admin/queues/">`, which every relative script, stylesheet and API URL
 * resolves against (`base-uri 'self'`, not 'none'); and inline styles, for the loading spinner in that HTML and
 * the `<style>` elements its job-data viewer adds (`'unsafe-inline'` in style-src). Scripts stay 'self' only.
 * The page also asks for web fonts from a third-party host: refused here (helmet's default, which the rest of the
 * API gets, would allow any https: stylesheet and font), so an admin's browser tells no one else when the
 * dashboard is opened; it falls back to system fonts.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface QueueDashboardOptions {
  /** The queues to show (QueueDashboardRepository), already read-only unless `write`. */
  queues: BaseAdapter[];
  write: boolean;
  /** Looks up a cookie session's CSRF token for the page. */
  auth: Pick<AuthService, 'session'>;
  secureCookies: boolean;
}

/**
 * bull-board at /admin/queues, for admins only, hidden from the OpenAPI document.
 *
 * bull-board adds its page, static files and JSON API inside a plugin of its own, with its own error handler. Every
 * route it adds passes through this scope's onRoute hook, which gives it `roles: ['admin']` (so the auth plugin's
 * hook answers 401 or 403 before bull-board sees the request, static files included) and the app's error handler
 * (so those refusals, and any failure, are the usual problem+json, never bull-board's body with a message or stack).
 */
export async function registerQueueDashboard(app: FastifyInstance, options: QueueDashboardOptions): Promise<void> {
  const { queues, write, auth, secureCookies } = options;
  await app.register(async (scope) => {
    const problems = scope.errorHandler;
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-frame-options', 'DENY');
      return payload;
    });
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, roles: ['admin'], csrfHeader: XSRF_HEADER };
      route.schema = { ...route.schema, hide: true };
      route.errorHandler = problems;
    });

    // The page hands a cookie session's CSRF token to bull-board's client as a cookie it can read. The token is no
    // more exposed than before: the review UI's scripts read it from GET /v1/session. A read-only dashboard sends
    // no state-changing request, so it gets no token.
    if (write) {
      scope.addHook('preHandler', async (request, reply) => {
        if (!isDashboardPage(request) || !request.sessionToken) return;
        const session = await auth.session(request.sessionToken);
        if (!session) return;
        void reply.setCookie(XSRF_COOKIE, session.csrfToken, {
          path: QUEUE_DASHBOARD_PATH,
          sameSite: 'strict',
          secure: secureCookies,
          httpOnly: false,
          maxAge: Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000)),
        });
      });
    }

    const server = new FastifyAdapter();
    createBullBoard({
      queues,
      serverAdapter: server,
      options: {
        uiConfig: { boardTitle: 'simsift queues', hideDocsLink: true },
        handlerHooks: { before: write ? refuseOtherWrites : undefined },
      },
    });
    await scope.register(server.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
  });
}

/** The dashboard's HTML page (its client-side routes), as opposed to its static files and JSON API. */
function isDashboardPage(request: FastifyRequest): boolean {
  const url = request.routeOptions.url ?? '';
  return (
    request.method === 'GET' &&
    !url.startsWith(`${QUEUE_DASHBOARD_PATH}/api/`) &&
    !url.startsWith(`${QUEUE_DASHBOARD_PATH}/static/`)
  );
}

function refuseOtherWrites({ method, route }: HookContext) {
  if (method === 'get' || ALLOWED_WRITES.has(`${method} ${route}`)) return;
  return { allow: false, status: 403 as const, message: 'simsift allows only retrying, promoting and removing jobs' };
}

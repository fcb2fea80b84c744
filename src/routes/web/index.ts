import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { PROJECT_ROOT } from '../../paths.js';

/**
 * The analyst page is plain files under src/web/public. They are read from the project root, not next to this
 * module, so the same directory is served from `src/` (tsx) and from `dist/src/` (built), with nothing to copy.
 */
export const WEB_PUBLIC_DIR = path.join(PROJECT_ROOT, 'src', 'web', 'public');

/**
 * Everything the page loads comes from this server: no inline script or style, so an injected name in a KYC
 * record cannot run even if some rendering path forgot to treat it as text.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The analyst review page at /ui/ (static files) and a redirect to it from /. */
export const webRoutes: FastifyPluginAsync = async (app) => {
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/ui/'));

  await app.register(async (ui) => {
    ui.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      return payload;
    });
    await ui.register(fastifyStatic, {
      root: WEB_PUBLIC_DIR,
      prefix: '/ui/',
      index: 'index.html',
      // Modules change with each release and there is no build step to fingerprint them: revalidate by ETag.
      cacheControl: false,
      setHeaders: (reply) => {
        void reply.header('cache-control', 'no-cache');
      },
    });
  });
};

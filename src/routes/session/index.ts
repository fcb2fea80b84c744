import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { principalOf, sessionCookieName } from '../../plugins/auth.js';
import { AppError } from '../../services/errors.js';
import type { Session } from '../../services/auth.service.js';
import { problemResponses } from '../common.schemas.js';
import { SessionSchema } from './schemas.js';

const view = (session: Session) => ({
  role: session.principal.role,
  operator: session.principal.operatorCode,
  csrfToken: session.csrfToken,
  expiresAt: session.expiresAt,
});

/** The session cookie; `Secure` by configuration, never by the request's protocol (TLS ends at a proxy). */
function setCookie(reply: FastifyReply, secure: boolean, value: string, maxAgeSeconds: number) {
  void reply.setCookie(sessionCookieName(secure), value, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    maxAge: maxAgeSeconds,
    secure,
  });
}

/** The review UI's sign-in: an analyst key is exchanged for an httpOnly session cookie. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.post(
    '/v1/session',
    {
      schema: {
        tags: ['session'],
        operationId: 'createSession',
        summary: 'Sign in to the review UI with an analyst or admin key: sets the session cookie',
        body: Type.Object({ key: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: {
          200: SessionSchema,
          ...problemResponses,
          // Unknown keys count towards the auth-failure limit; the key is looked up in Postgres.
          429: { $ref: 'Problem' },
          503: { $ref: 'Problem' },
        },
      },
    },
    async (request, reply) => {
      const session = await container.auth.signIn(request.body.key).catch((error: unknown) => {
        throw error instanceof AppError && error.code === 'invalid_api_key' ? request.keyRefusal() : error;
      });
      const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
      setCookie(reply, container.config.secureCookies, session.token, maxAge);
      return view(session);
    },
  );

  app.get(
    '/v1/session',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['session'],
        operationId: 'getSession',
        summary: "The caller's session (role, operator, CSRF token); empty token and expiry for a bearer key",
        response: { 200: SessionSchema, ...problemResponses },
      },
    },
    async (request) => {
      const session = request.sessionToken ? await container.auth.session(request.sessionToken) : null;
      if (!session) {
        // A bearer key has no session; answer like the cookie-less browser would be answered.
        const principal = principalOf(request);
        return { role: principal.role, operator: principal.operatorCode, csrfToken: '', expiresAt: '' };
      }
      return view(session);
    },
  );

  app.delete(
    '/v1/session',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['session'],
        operationId: 'deleteSession',
        summary: 'Sign out: ends the session and clears its cookie',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      if (request.sessionToken) await container.auth.signOut(request.sessionToken);
      setCookie(reply, container.config.secureCookies, '', 0);
      return reply.code(204).send(null);
    },
  );
};

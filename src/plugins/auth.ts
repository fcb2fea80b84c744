import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService, Principal, Role } from '../services/auth.service.js';
import { AppError } from '../services/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Set when the caller authenticated with the review UI's session cookie rather than a bearer key. */
    sessionToken: string | null;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; routes without it are public (health, docs, metrics). */
    roles?: readonly Role[];
  }
}

export const SESSION_COOKIE = 'simsift_session';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The value of one cookie from the Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=') || null;
  }
  return null;
}

/**
 * Authentication for every route that declares `config.roles`: a bearer API key, or the review UI's session
 * cookie. No or unknown credentials are 401, a known caller with the wrong role is 403. A cookie session must
 * echo its CSRF token in `x-csrf-token` on every state-changing request, so another site cannot make the
 * browser act for the analyst.
 */
export function registerAuth(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionToken', null);
  app.addHook('onRequest', async (request) => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const header = request.headers.authorization;
    let principal: Principal | null;
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!match?.[1]) {
        throw new AppError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"');
      }
      principal = await auth.authenticate(match[1]);
      if (!principal) throw new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    } else {
      const token = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (!token) throw new AppError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"');
      const session = await auth.session(token);
      if (!session) throw new AppError(401, 'session_expired', 'the session has ended; sign in again');
      if (!SAFE_METHODS.has(request.method) && request.headers['x-csrf-token'] !== session.csrfToken) {
        throw new AppError(403, 'csrf_token_invalid', "send the session's CSRF token in x-csrf-token");
      }
      principal = session.principal;
      request.sessionToken = token;
    }
    if (!roles.includes(principal.role)) {
      throw new AppError(403, 'forbidden', `this needs one of the roles: ${roles.join(', ')}`);
    }
    request.principal = principal;
  });
}

/** The caller of a route that declared roles (the hook guarantees one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError(401, 'unauthenticated', 'authentication required');
  return request.principal;
}

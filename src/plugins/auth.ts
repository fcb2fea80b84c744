import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService, Principal, Role } from '../services/auth.service.js';
import { AppError } from '../services/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; routes without it are public (health, docs, metrics). */
    roles?: readonly Role[];
  }
}

/**
 * Bearer-key authentication for every route that declares `config.roles`: no or unknown key is 401,
 * a known key with the wrong role is 403.
 */
export function registerAuth(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const roles = request.routeOptions.config.roles;
    if (!roles) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw new AppError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"');
    }
    const principal = await auth.authenticate(match[1]);
    if (!principal) throw new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
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

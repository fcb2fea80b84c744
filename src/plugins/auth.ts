import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AUTH_FAILURE_WINDOW_MS, type AuthService, type Principal, type Role } from '../services/auth.service.js';
import { AppError } from '../services/errors.js';
import type { WindowCount } from '../repositories/window-counter.repository.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** Set when the caller authenticated with the review UI's session cookie rather than a bearer key. */
    sessionToken: string | null;
    /**
     * The error for an unknown or revoked key this request presented: 401 `invalid_api_key`, or 429
     * `too_many_auth_failures` once the client address sent too many within a minute.
     */
    keyRefusal(): AppError;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; routes without it are public (health, docs, metrics). */
    roles?: readonly Role[];
    /**
     * The header a cookie session's CSRF token comes back in on this route's state-changing requests, for pages
     * this project does not write (the queue dashboard's client sends `x-xsrf-token`); `x-csrf-token` otherwise.
     */
    csrfHeader?: string;
  }
}

/**
 * The review UI's session cookie. `__Host-` (the browser keeps it to this origin, path / and HTTPS) wherever it is
 * `Secure`, which is everywhere but development and test (config.secureCookies).
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-simsift_session' : 'simsift_session';
}
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether the CSRF token sent matches the session's, compared in constant time. */
function csrfMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The refusals counted as failed authentications in the metrics: the error codes this plugin answers with. */
export const AUTH_FAILURE_CODES = [
  'unauthenticated',
  'invalid_api_key',
  'too_many_auth_failures',
  'session_expired',
  'csrf_token_invalid',
  'forbidden',
] as const;
export type AuthFailureCode = (typeof AUTH_FAILURE_CODES)[number];
const isAuthFailure = (code: string): code is AuthFailureCode =>
  (AUTH_FAILURE_CODES as readonly string[]).includes(code);

/** Where refused credentials are counted (the API's Prometheus metrics). */
export interface AuthMetrics {
  authFailed(reason: AuthFailureCode): void;
}

const WINDOW_MS = AUTH_FAILURE_WINDOW_MS;
// Bounds the memory one flood of spoofed-looking clients can take; expired windows are swept at this size.
const MAX_TRACKED_CLIENTS = 10_000;

/**
 * Failed authentications (unknown or revoked API keys) per client IP, counted in fixed one-minute windows that
 * open with an IP's first failure. Each failure is also counted in Redis, shared by every API process; the
 * shared count, when it comes, replaces this process's own, so the limit holds across processes (a process
 * learns of a block when that IP next fails there). Checking a block stays in memory: requests that authenticate
 * never wait for Redis. Behind a reverse proxy every client shares the proxy's IP unless Fastify's `trustProxy`
 * is configured.
 */
export class AuthFailureLimiter {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly maxFailuresPerMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `ip` may authenticate again; 0 when it is not blocked. */
  blockedFor(ip: string): number {
    const window = this.windows.get(ip);
    if (!window) return 0;
    const left = window.start + WINDOW_MS - this.now();
    if (left <= 0) {
      this.windows.delete(ip);
      return 0;
    }
    return window.failures >= this.maxFailuresPerMinute ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one failure; `shared` is the count across processes for the same failure, when Redis gave it. */
  recordFailure(ip: string, shared: WindowCount | null = null): void {
    const now = this.now();
    let window = this.windows.get(ip);
    if (window && window.start + WINDOW_MS > now) {
      window.failures++;
    } else {
      if (this.windows.size >= MAX_TRACKED_CLIENTS) this.sweep(now);
      window = { start: now, failures: 1 };
      this.windows.set(ip, window);
    }
    if (shared) {
      window.start = now + shared.resetInMs - WINDOW_MS;
      window.failures = Math.max(window.failures, shared.count);
    }
  }

  private sweep(now: number): void {
    for (const [ip, window] of this.windows) if (window.start + WINDOW_MS <= now) this.windows.delete(ip);
    // Still full of live windows: forget the oldest rather than grow without bound.
    for (const ip of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED_CLIENTS) break;
      this.windows.delete(ip);
    }
  }
}

/**
 * Authentication for every route that declares `config.roles`: a bearer API key, or the review UI's session
 * cookie. No or unknown credentials are 401, a known caller with the wrong role is 403. A cookie session must
 * echo its CSRF token in `x-csrf-token` on every state-changing request, so another site cannot make the
 * browser act for the analyst. A client address that sent `maxFailuresPerMinute` unknown or revoked keys within a
 * minute gets 429 `too_many_auth_failures` (with Retry-After) for every further bad key until the minute is over;
 * a valid key is never refused, since behind one load balancer or NAT one client's bad keys must not lock out
 * every operator (set SIMSIFT_TRUST_PROXY so the address is the client's, not the balancer's).
 */
export async function registerAuth(
  app: FastifyInstance,
  auth: AuthService,
  {
    maxFailuresPerMinute,
    secureCookies,
    metrics,
  }: { maxFailuresPerMinute: number; secureCookies: boolean; metrics?: AuthMetrics },
): Promise<void> {
  const limiter = new AuthFailureLimiter(maxFailuresPerMinute);
  const cookieName = sessionCookieName(secureCookies);
  await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionToken', null);
  app.decorateRequest('keyRefusal', function (this: FastifyRequest) {
    const retryAfter = limiter.blockedFor(this.ip);
    return retryAfter > 0
      ? new AppError(429, 'too_many_auth_failures', 'too many failed authentications; try again later', {
          retry_after_seconds: retryAfter,
        })
      : new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
  });
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
      if (!principal) throw request.keyRefusal();
    } else {
      const token = request.cookies[cookieName];
      if (!token) throw new AppError(401, 'unauthenticated', 'send an API key as "Authorization: Bearer <key>"');
      const session = await auth.session(token);
      if (!session) throw new AppError(401, 'session_expired', 'the session has ended; sign in again');
      const csrfHeader = request.routeOptions.config.csrfHeader ?? 'x-csrf-token';
      if (!SAFE_METHODS.has(request.method) && !csrfMatches(request.headers[csrfHeader], session.csrfToken)) {
        throw new AppError(403, 'csrf_token_invalid', `send the session's CSRF token in ${csrfHeader}`);
      }
      principal = session.principal;
      request.sessionToken = token;
    }
    if (!roles.includes(principal.role)) {
      throw new AppError(403, 'forbidden', `this needs one of the roles: ${roles.join(', ')}`);
    }
    request.principal = principal;
  });

  // Route handlers reject keys too (the review UI's sign-in), so failures are counted where every error passes.
  // Refusals of an address already blocked (429) are not counted against it: its window is fixed. The metrics
  // count every refusal, by code.
  app.addHook('onError', async (request, _reply, error) => {
    if (!(error instanceof AppError)) return;
    if (isAuthFailure(error.code)) metrics?.authFailed(error.code);
    if (error.code === 'invalid_api_key') {
      limiter.recordFailure(request.ip, await auth.recordFailure(request.ip));
    }
  });
}

/** The roles that may read records (clusters, candidates, agents, photos): everyone but a checker. */
export const RECORD_READERS = ['operator', 'analyst', 'admin'] as const;

/** The caller of a route that declared roles (the hook guarantees one). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError(401, 'unauthenticated', 'authentication required');
  return request.principal;
}

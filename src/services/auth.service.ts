import { hash, randomBytes } from 'node:crypto';
import type { ApiKeyRecord, Role } from '../repositories/api-key.repository.js';
import type { WindowCount } from '../repositories/window-counter.repository.js';
import type { SessionRecord } from '../repositories/session.repository.js';
import type { Operator } from '../repositories/operator.repository.js';
import type { AuditEntry } from '../repositories/audit.repository.js';
import { AppError } from './errors.js';

export type { Role } from '../repositories/api-key.repository.js';
export const ROLES: readonly Role[] = ['operator', 'checker', 'analyst', 'admin'];
/** Roles whose keys belong to one operator and see only that operator's data. */
export const OPERATOR_ROLES: readonly Role[] = ['operator', 'checker'];

/** Who is calling: resolved from the bearer key on every request. */
export interface Principal {
  keyId: number;
  role: Role;
  /** Set for operator and checker keys: the only operator whose data the caller may see. */
  operatorId: number | null;
  operatorCode: string | null;
}

export interface AuthServiceDeps {
  keys: {
    insert(input: {
      keyHash: Buffer;
      keyPrefix: string;
      role: Role;
      operatorId: number | null;
      label: string | null;
    }): Promise<number>;
    findActiveByHash(keyHash: Buffer): Promise<ApiKeyRecord | null>;
    revoke(id: number): Promise<boolean>;
  };
  operators: {
    findByCode(code: string): Promise<Operator | null>;
    list(): Promise<Operator[]>;
    upsert(code: string, name: string): Promise<{ operator: Operator; created: boolean }>;
  };
  audit: { record(entry: AuditEntry): Promise<void> };
  sessions: {
    create(input: { tokenHash: Buffer; apiKeyId: number; csrfToken: string; ttlSeconds: number }): Promise<string>;
    findActive(tokenHash: Buffer): Promise<SessionRecord | null>;
    delete(tokenHash: Buffer): Promise<void>;
  };
  /** Failed authentications per client address, shared by every API process (Redis). */
  failures?: { record(address: string): Promise<WindowCount> };
}

/** Roles that may sign in to the review UI. */
export const SESSION_ROLES: readonly Role[] = ['analyst', 'admin'];
const SESSION_TTL_SECONDS = 12 * 3600;

export interface Session {
  principal: Principal;
  csrfToken: string;
  expiresAt: string;
}

const KEY_PREFIX = 'ssk_';

/** Failed authentications are counted per client address in windows this long (see the auth plugin). */
export const AUTH_FAILURE_WINDOW_MS = 60_000;

/** SHA-256 of a key or session token, as stored. One-shot `hash()`: a fifth of the time of a Hash object. */
export function hashApiKey(key: string): Buffer {
  return hash('sha256', key, 'buffer');
}

/**
 * API keys: random 256-bit secrets shown once and stored only as a hash. Operator keys are bound to one
 * operator; analyst and admin keys see every operator.
 */
export class AuthService {
  constructor(private readonly deps: AuthServiceDeps) {}

  async authenticate(key: string): Promise<Principal | null> {
    if (!key.startsWith(KEY_PREFIX) || key.length > 100) return null;
    const record = await this.deps.keys.findActiveByHash(hashApiKey(key));
    if (!record) return null;
    return { keyId: record.id, role: record.role, operatorId: record.operatorId, operatorCode: record.operatorCode };
  }

  /**
   * Counts a failed authentication from `address` where every API process sees it; null when that count cannot
   * be reached (Redis down), and each process then counts on its own.
   */
  async recordFailure(address: string): Promise<WindowCount | null> {
    if (!this.deps.failures) return null;
    try {
      return await this.deps.failures.record(address);
    } catch {
      return null;
    }
  }

  /**
   * Exchanges an analyst or admin key for a browser session: a random token for an httpOnly cookie (stored
   * only hashed) and a CSRF token the page must echo on every change.
   */
  async signIn(key: string): Promise<Session & { token: string }> {
    const principal = await this.authenticate(key);
    if (!principal) throw new AppError(401, 'invalid_api_key', 'the API key is unknown or revoked');
    if (!SESSION_ROLES.includes(principal.role)) {
      throw new AppError(403, 'forbidden', 'only analyst and admin keys can sign in to the review UI');
    }
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = await this.deps.sessions.create({
      tokenHash: hashApiKey(token),
      apiKeyId: principal.keyId,
      csrfToken,
      ttlSeconds: SESSION_TTL_SECONDS,
    });
    await this.deps.audit.record({
      apiKeyId: principal.keyId,
      actor: `key:${principal.keyId}`,
      action: 'session.create',
      entity: 'api_key',
      entityId: String(principal.keyId),
      details: { expiresAt },
    });
    return { token, principal, csrfToken, expiresAt };
  }

  async session(token: string): Promise<Session | null> {
    if (token.length > 100) return null;
    const found = await this.deps.sessions.findActive(hashApiKey(token));
    if (!found) return null;
    const { key } = found;
    return {
      principal: { keyId: key.id, role: key.role, operatorId: key.operatorId, operatorCode: key.operatorCode },
      csrfToken: found.csrfToken,
      expiresAt: found.expiresAt,
    };
  }

  async signOut(token: string): Promise<void> {
    await this.deps.sessions.delete(hashApiKey(token));
  }

  /** Creates a key and returns it in clear text, the only time it is ever visible. */
  async createKey(input: {
    role: Role;
    operatorCode?: string | null;
    label?: string | null;
    actor: string;
    actorKeyId: number | null;
  }): Promise<{ id: number; key: string; role: Role; operator: string | null }> {
    let operatorId: number | null = null;
    if (OPERATOR_ROLES.includes(input.role)) {
      if (!input.operatorCode) {
        throw new AppError(400, 'operator_required', `a ${input.role} key must name its operator`);
      }
      const operator = await this.deps.operators.findByCode(input.operatorCode.toUpperCase());
      if (!operator) throw new AppError(404, 'operator_not_found', `no operator with code ${input.operatorCode}`);
      operatorId = operator.id;
    } else if (input.operatorCode) {
      throw new AppError(400, 'operator_not_allowed', `a ${input.role} key is not bound to an operator`);
    }
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const id = await this.deps.keys.insert({
      keyHash: hashApiKey(key),
      keyPrefix: key.slice(0, KEY_PREFIX.length + 6),
      role: input.role,
      operatorId,
      label: input.label ?? null,
    });
    await this.deps.audit.record({
      apiKeyId: input.actorKeyId,
      actor: input.actor,
      action: 'api_key.create',
      entity: 'api_key',
      entityId: String(id),
      details: { role: input.role, operator: input.operatorCode ?? null },
    });
    return { id, key, role: input.role, operator: input.operatorCode?.toUpperCase() ?? null };
  }

  async revokeKey(id: number, actor: string, actorKeyId: number | null): Promise<void> {
    if (!(await this.deps.keys.revoke(id))) throw new AppError(404, 'not_found', 'no active key with that id');
    await this.deps.audit.record({
      apiKeyId: actorKeyId,
      actor,
      action: 'api_key.revoke',
      entity: 'api_key',
      entityId: String(id),
      details: {},
    });
  }

  findOperator(code: string): Promise<Operator | null> {
    return this.deps.operators.findByCode(code.trim().toUpperCase());
  }

  listOperators(): Promise<Operator[]> {
    return this.deps.operators.list();
  }

  async createOperator(code: string, name: string, actor: string, actorKeyId: number | null) {
    const normalised = code.trim().toUpperCase();
    if (!/^[A-Z0-9_]{2,32}$/.test(normalised)) {
      throw new AppError(400, 'invalid_operator_code', 'an operator code is 2-32 letters, digits or "_"');
    }
    const outcome = await this.deps.operators.upsert(normalised, name.trim() || normalised);
    if (outcome.created) {
      await this.deps.audit.record({
        apiKeyId: actorKeyId,
        actor,
        action: 'operator.create',
        entity: 'operator',
        entityId: String(outcome.operator.id),
        details: { code: normalised },
      });
    }
    return outcome;
  }
}

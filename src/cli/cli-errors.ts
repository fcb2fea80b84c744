import { CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { AppError } from '../services/errors.js';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  /** The command failed, or found problems (a failed demo, an unverifiable audit chain, a rejected upload). */
  failure: 1,
  /** Bad arguments or configuration: fix the command line or the environment. */
  usage: 2,
  /** Postgres, Redis or the simsift API could not be reached. */
  unreachable: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line, with the exit code it stands for. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** A backing service (Postgres, Redis, the API) that did not answer. */
export class ServiceUnreachableError extends CliError {
  constructor(
    readonly service: string,
    readonly url: string,
    hint: string,
    cause?: unknown,
  ) {
    const why = connectionErrorCode(cause) ?? (cause instanceof Error ? cause.message : undefined);
    super(`cannot reach ${service} at ${redactUrl(url)}${why ? ` (${why})` : ''}: ${hint}`, EXIT.unreachable, {
      cause,
    });
    this.name = 'ServiceUnreachableError';
  }
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * The network error code (ECONNREFUSED, ENOTFOUND, ...) somewhere in `error`'s cause chain or inside an
 * AggregateError (Node tries every address of `localhost`), or undefined when it is not a connection failure.
 */
export function connectionErrorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = connectionErrorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  if (/connect(ion)? (timeout|timed out)/i.test((error as Error).message ?? '')) return 'ETIMEDOUT';
  return connectionErrorCode((error as { cause?: unknown }).cause, depth + 1);
}

/** A URL fit for an error message: the password is never printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The exit code and the one-line message for an error that ended a command. */
export function describeFailure(error: unknown): { exitCode: ExitCode; message: string } {
  if (error instanceof CommanderError) {
    // Help and version "errors" are successful exits; everything else commander raises is a usage error.
    const ok = error.exitCode === 0;
    return { exitCode: ok ? EXIT.ok : EXIT.usage, message: '' };
  }
  if (error instanceof CliError) return { exitCode: error.exitCode, message: error.message };
  if (error instanceof ConfigError) return { exitCode: EXIT.usage, message: error.message };
  if (error instanceof AppError) {
    // AppErrors raised by the CLI itself are argument checks (400); others come from services it ran.
    return {
      exitCode: error.statusCode === 400 ? EXIT.usage : EXIT.failure,
      message: `${error.message} (${error.code})`,
    };
  }
  const code = connectionErrorCode(error);
  if (code) {
    return {
      exitCode: EXIT.unreachable,
      message: `a backing service stopped answering (${code}): check Postgres (DATABASE_URL) and Redis (REDIS_URL)`,
    };
  }
  return { exitCode: EXIT.failure, message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}

/**
 * An expected failure with a stable machine-readable code. The HTTP layer turns it into
 * `application/problem+json`; the message is safe to show a client (no personal data, no internals).
 */
export class AppError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);

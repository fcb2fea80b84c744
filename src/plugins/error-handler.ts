import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../services/errors.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Fastify's own error codes mapped to simsift's stable ones. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_body' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_body' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_PARTS_LIMIT: { status: 413, code: 'too_many_parts' },
  FST_FILES_LIMIT: { status: 413, code: 'too_many_files' },
  FST_FIELDS_LIMIT: { status: 413, code: 'too_many_fields' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, code: 'photo_too_large' },
  FST_PROTO_VIOLATION: { status: 400, code: 'invalid_body' },
};

export function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string | undefined,
  details?: Record<string, unknown>,
) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: `urn:simsift:problem:${code}`,
      title: TITLES[status] ?? 'Error',
      status,
      code,
      ...(detail ? { detail } : {}),
      ...(details ? { details } : {}),
    });
}

/** Connection-level failures (Postgres or Redis down): the client may retry later, nothing was half-written. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (current instanceof Error && /Connection terminated|connection timeout/i.test(current.message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** One error handler: problem+json with a stable code; messages for 4xx only, never a stack. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.statusCode >= 500) request.log.error({ err: error }, error.message);
      if (error.statusCode === 503) void reply.header('retry-after', '5');
      if (error.statusCode === 429) {
        const seconds = Number(error.details?.retry_after_seconds);
        void reply.header('retry-after', String(Number.isInteger(seconds) && seconds > 0 ? seconds : 60));
      }
      return sendProblem(reply, error.statusCode, error.code, error.message, error.details);
    }
    if (error.validation) {
      return sendProblem(reply, 400, 'invalid_request', error.message, {
        errors: error.validation.map((v) => ({ path: v.instancePath, message: v.message })),
      });
    }
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return sendProblem(reply, mapped.status, mapped.code, error.message);
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendProblem(reply, error.statusCode, 'bad_request', error.message);
    }
    if (isUnavailable(error)) {
      request.log.error({ err: error }, 'a backing service is unavailable');
      void reply.header('retry-after', '5');
      return sendProblem(reply, 503, 'service_unavailable', 'a backing service is unavailable; retry later');
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, 500, 'internal_error', undefined);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, 404, 'route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}

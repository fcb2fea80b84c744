import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { registerMultipart } from '../../plugins/multipart.js';
import { AppError } from '../../services/errors.js';
import type { Principal } from '../../services/auth.service.js';
import { problemResponses, uploadProblemResponses } from '../common.schemas.js';
import { checkDeclaredLength, multipartParts, zipParts } from './upload-parts.js';
import {
  BatchErrorsSchema,
  BatchListQuerySchema,
  BatchListSchema,
  BatchParamsSchema,
  BatchSchema,
  RecordListQuerySchema,
  RecordListSchema,
  UploadFormSchema,
  UploadHeadersSchema,
  UploadQuerySchema,
  UploadResultSchema,
  UploadZipSchema,
} from './schemas.js';

const READERS = ['operator', 'analyst', 'admin'] as const;

/** `POST /v1/batches` in its own scope, the only one (with `/v1/checks`) that parses multipart bodies. */
const batchUploadRoute: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  const limits = container.config.upload;
  await registerMultipart(app);

  // The zip body is handed over as a stream; the route spools it to disk itself (bounded by the upload limit).
  app.addContentTypeParser(['application/zip', 'application/x-zip-compressed'], (_request, payload, done) =>
    done(null, payload),
  );

  app.post(
    '/v1/batches',
    {
      config: { roles: ['operator', 'admin'] },
      schema: {
        tags: ['batches'],
        operationId: 'uploadBatch',
        summary: 'Upload a KYC batch (multipart manifest + photos, or a zip with manifest.csv)',
        description:
          'Answers 202 once the rows are stored and queued for the face workers, listing the rows rejected and ' +
          'why. A retry with the same Idempotency-Key answers the first upload (header `idempotent-replayed: ' +
          'true`). 429 `queue_full` while more face jobs wait than the server allows.',
        // Read by the handler as a stream (upload-parts.ts), never validated by Fastify.
        documentedBody: {
          'multipart/form-data': UploadFormSchema,
          'application/zip': UploadZipSchema,
          'application/x-zip-compressed': UploadZipSchema,
        },
        querystring: UploadQuerySchema,
        headers: UploadHeadersSchema,
        response: { 202: UploadResultSchema, ...uploadProblemResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const operatorId = await resolveUploadOperator(container, principal, request.query.operator);
      checkDeclaredLength(request, limits);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      let source: 'multipart' | 'zip';
      if (contentType === 'multipart/form-data') source = 'multipart';
      else if (contentType === 'application/zip' || contentType === 'application/x-zip-compressed') source = 'zip';
      else throw new AppError(415, 'unsupported_media_type', 'upload multipart/form-data or application/zip');

      const idempotencyKey = request.headers['idempotency-key'] ?? null;
      const parts =
        source === 'multipart'
          ? multipartParts(request, limits)
          : zipParts(request.body as Readable, limits, (suffix) => container.photos.tempPath(suffix));
      const outcome = await container.ingest.ingest({
        operatorId,
        apiKeyId: principal.keyId,
        actor: `key:${principal.keyId}`,
        idempotencyKey,
        source,
        parts,
      });
      if (!outcome.created) void reply.header('idempotent-replayed', 'true');
      request.log.info(
        { batchId: outcome.batchId, accepted: outcome.accepted, rejected: outcome.rejected, queued: outcome.queued },
        outcome.created ? 'batch accepted' : 'batch replayed',
      );
      return reply.code(202).send({
        batch_id: outcome.batchId,
        accepted: outcome.accepted,
        rejected: outcome.rejected,
        errors: outcome.errors,
        ...(outcome.warnings.length > 0 ? { warnings: outcome.warnings } : {}),
      });
    },
  );
};

export const batchRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  await app.register(batchUploadRoute, { container });

  app.get(
    '/v1/batches',
    {
      config: { roles: READERS },
      schema: {
        tags: ['batches'],
        operationId: 'listBatches',
        summary: 'Batches, newest first (paged); an operator key sees its own',
        querystring: BatchListQuerySchema,
        response: { 200: BatchListSchema, ...problemResponses },
      },
    },
    async (request) => container.batches.list(principalOf(request), request.query.cursor, request.query.limit),
  );

  app.get(
    '/v1/batches/:id',
    {
      config: { roles: READERS },
      schema: {
        tags: ['batches'],
        operationId: 'getBatch',
        summary: "A batch's progress through the face pipeline: records per state",
        params: BatchParamsSchema,
        response: { 200: BatchSchema, ...problemResponses },
      },
    },
    async (request) => container.batches.get(principalOf(request), request.params.id),
  );

  app.get(
    '/v1/batches/:id/records',
    {
      config: { roles: READERS, personalData: 'records.list' },
      schema: {
        tags: ['batches'],
        operationId: 'listBatchRecords',
        summary: "A batch's KYC records, optionally in one state (paged; personal data)",
        params: BatchParamsSchema,
        querystring: RecordListQuerySchema,
        response: { 200: RecordListSchema, ...problemResponses },
      },
    },
    async (request) =>
      container.batches.listRecords(
        principalOf(request),
        request.params.id,
        request.query.state,
        request.query.cursor,
        request.query.limit,
      ),
  );

  app.get(
    '/v1/batches/:id/errors',
    {
      config: { roles: READERS },
      schema: {
        tags: ['batches'],
        operationId: 'listBatchErrors',
        summary: "The manifest rows a batch's upload rejected, and why",
        params: BatchParamsSchema,
        response: { 200: BatchErrorsSchema, ...problemResponses },
      },
    },
    async (request) => ({ errors: await container.batches.listErrors(principalOf(request), request.params.id) }),
  );
};

/** Operator keys upload for their own operator; admin keys (the regulator) must name one. */
async function resolveUploadOperator(
  container: Container,
  principal: Principal,
  requested: string | undefined,
): Promise<number> {
  if (principal.role === 'operator') {
    if (requested && requested.toUpperCase() !== principal.operatorCode) {
      throw new AppError(403, 'operator_mismatch', 'an operator key uploads only for its own operator');
    }
    return principal.operatorId!;
  }
  if (!requested) throw new AppError(400, 'operator_required', 'name the operator with ?operator=CODE');
  const operator = await container.auth.findOperator(requested.toUpperCase());
  if (!operator) throw new AppError(404, 'operator_not_found', `no operator with code ${requested.toUpperCase()}`);
  return operator.id;
}

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { registerMultipart } from '../../plugins/multipart.js';
import { AppError } from '../../services/errors.js';
import { Type } from 'typebox';
import { uploadProblemResponses } from '../common.schemas.js';
import { CheckFormSchema, CheckHeadersSchema, CheckQuerySchema, CheckResultSchema } from './schemas.js';

/** Record fields and the `photo` file of a check's multipart body, bounded by the photo limit. */
async function readCheckBody(request: FastifyRequest, maxPhotoBytes: number) {
  if (!request.isMultipart()) {
    throw new AppError(415, 'unsupported_media_type', 'send the check as multipart/form-data');
  }
  const fields: Record<string, string> = {};
  let photo: Buffer | null = null;
  for await (const part of request.parts({
    limits: { files: 1, fields: 30, fieldSize: 4096, fileSize: maxPhotoBytes + 1 },
  })) {
    if (part.type === 'file') {
      if (part.fieldname !== 'photo')
        throw new AppError(400, 'unknown_field', `unexpected file part ${part.fieldname}`);
      photo = await part.toBuffer();
    } else {
      fields[part.fieldname] = String(part.value);
    }
  }
  return { fields, photo };
}

export const checkRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  await registerMultipart(app);
  app.post(
    '/v1/checks',
    {
      // A shop holds a checker key: it can run checks and nothing else.
      config: { roles: ['checker', 'operator', 'analyst'] },
      schema: {
        tags: ['checks'],
        operationId: 'runCheck',
        summary: 'Pre-activation check: one photo and record against every face cluster, nothing stored',
        description:
          'multipart/form-data with the record fields (manifest column names: msisdn, name, id_type, id_number, ' +
          'lsa, pos_agent_id, and optionally father_name, dob, gender, address, activation_date) and the file ' +
          'part `photo`. Answers allow, review or refuse with the rules that would fire and the counts they used; ' +
          'analyst keys also get the clusters matched. Each key may run SIMSIFT_CHECKS_PER_KEY_PER_MINUTE checks a ' +
          'minute (429 too_many_checks), and every check is audited. 503 `check_unavailable` when no cluster ' +
          'worker answers in time.',
        // Read by the handler part by part, never validated by Fastify.
        documentedBody: { 'multipart/form-data': CheckFormSchema },
        querystring: CheckQuerySchema,
        headers: CheckHeadersSchema,
        response: { 200: CheckResultSchema, ...uploadProblemResponses, 503: Type.Ref('Problem') },
      },
    },
    async (request) => {
      const body = await readCheckBody(request, container.config.upload.maxPhotoBytes);
      return container.checks.check(principalOf(request), {
        ...body,
        store: request.query.store,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
      });
    },
  );
};

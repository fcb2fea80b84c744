import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf, RECORD_READERS } from '../../plugins/auth.js';
import { IdParamsSchema, problemResponses } from '../common.schemas.js';

/** A face's original KYC photo and its thumbnail, for those who may see its record. */
export const faceRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/faces/:id/photo',
    {
      config: { roles: RECORD_READERS, personalData: 'photo.view' },
      schema: {
        tags: ['clusters'],
        summary: 'The original KYC photo of a face (personal data: served only to those who may see the record)',
        params: IdParamsSchema,
        produces: ['image/jpeg', 'image/png', 'image/webp'],
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const { stream, mimeType } = await container.clusters.photo(principalOf(request), request.params.id);
      return reply.type(mimeType).header('cache-control', 'private, no-store').send(stream);
    },
  );

  app.get(
    '/v1/faces/:id/thumbnail',
    {
      config: { roles: RECORD_READERS, personalData: 'thumbnail.view' },
      schema: {
        tags: ['clusters'],
        params: IdParamsSchema,
        produces: ['image/jpeg'],
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const thumbnail = await container.clusters.thumbnail(principalOf(request), request.params.id);
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(thumbnail);
    },
  );
};

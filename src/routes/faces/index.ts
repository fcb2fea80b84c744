import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Container } from '../../container.js';
import { principalOf, RECORD_READERS } from '../../plugins/auth.js';
import { fileResponse, IdParamsSchema, problemResponses } from '../common.schemas.js';

/** A face's original KYC photo and its thumbnail, for those who may see its record. */
export const faceRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.get(
    '/v1/faces/:id/photo',
    {
      config: { roles: RECORD_READERS, personalData: 'photo.view' },
      schema: {
        tags: ['clusters'],
        operationId: 'getFacePhoto',
        summary: 'The original KYC photo of a face (personal data: served only to those who may see the record)',
        description: '410 `photo_expired` once the photo was deleted after its retention period.',
        params: IdParamsSchema,
        response: {
          200: fileResponse('the photo as uploaded', ['image/jpeg', 'image/png', 'image/webp']),
          ...problemResponses,
          410: { $ref: 'Problem' },
        },
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
        operationId: 'getFaceThumbnail',
        summary: "A face's JPEG thumbnail, for the review queue",
        params: IdParamsSchema,
        response: { 200: fileResponse('the thumbnail', ['image/jpeg']), ...problemResponses },
      },
    },
    async (request, reply) => {
      const thumbnail = await container.clusters.thumbnail(principalOf(request), request.params.id);
      return reply.type('image/jpeg').header('cache-control', 'private, max-age=3600').send(thumbnail);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Container } from '../../container.js';
import { principalOf } from '../../plugins/auth.js';
import { fileResponse, problemResponses } from '../common.schemas.js';
import { ExportSchema, ReverificationSchema } from './schemas.js';

export const exportRoutes: FastifyPluginAsyncTypebox<{ container: Container }> = async (app, { container }) => {
  app.post(
    '/v1/exports',
    {
      config: { roles: ['analyst', 'admin'] },
      schema: {
        tags: ['exports'],
        operationId: 'createExport',
        summary: "Create an operator's block list (CSV and JSON); by default only numbers not exported before",
        body: Type.Object(
          {
            operator: Type.String({ pattern: '^[A-Za-z0-9_]{2,32}$' }),
            status: Type.Optional(Type.Union([Type.Literal('confirmed'), Type.Literal('dismissed')])),
            since: Type.Optional(Type.String({ format: 'date-time', description: 'decided at or after' })),
            full: Type.Optional(Type.Boolean({ description: 'include numbers exported before' })),
          },
          { additionalProperties: false },
        ),
        response: { 201: ExportSchema, ...problemResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await container.exports.create(principalOf(request), request.body)),
  );

  app.get(
    '/v1/exports',
    {
      config: { roles: ['operator', 'analyst', 'admin'] },
      schema: {
        tags: ['exports'],
        operationId: 'listExports',
        summary: 'The block lists exported so far, newest first',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(ExportSchema) }), ...problemResponses },
      },
    },
    async (request) => container.exports.list(principalOf(request), request.query.limit),
  );

  app.get(
    '/v1/exports/:id/download',
    {
      config: { roles: ['operator', 'analyst', 'admin'], personalData: 'export.download' },
      schema: {
        tags: ['exports'],
        operationId: 'downloadExport',
        summary: 'Download an export as CSV or JSON (an attachment; its sha256 is in the export record)',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        querystring: Type.Object(
          { format: Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'csv' }) },
          { additionalProperties: false },
        ),
        response: {
          200: fileResponse('the export file, in the format asked for', ['text/csv', 'application/json']),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { format } = request.query;
      const file = await container.exports.download(principalOf(request), request.params.id, format);
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="simsift-export-${request.params.id}.${format}"`)
        .header('cache-control', 'private, no-store')
        .send(file);
    },
  );

  app.post(
    '/v1/reverifications',
    {
      config: { roles: ['operator'] },
      schema: {
        tags: ['exports'],
        operationId: 'reportReverifications',
        summary: "Report re-verification outcomes for the operator's confirmed numbers",
        body: ReverificationSchema,
        response: {
          200: Type.Object({ updated: Type.Integer(), unknown: Type.Array(Type.String()) }),
          ...problemResponses,
        },
      },
    },
    async (request) => container.exports.recordReverifications(principalOf(request), request.body.items),
  );
};

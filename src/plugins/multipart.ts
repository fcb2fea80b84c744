import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';

/**
 * Multipart parsing, registered only in the scopes of the routes that take multipart bodies (batch upload,
 * pre-activation check). The plugin adds an onRequest, a preValidation and an onResponse hook to every route in
 * its scope; registered app-wide, they cost every other request too, the polled `GET /v1/batches/:id` included.
 */
export async function registerMultipart(app: FastifyInstance): Promise<void> {
  // Per-photo size limits are reported per row by the photo store rather than thrown for the whole upload.
  await app.register(fastifyMultipart, { throwFileSizeLimit: false });
}

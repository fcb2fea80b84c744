import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TYPES_FILE, renderApiTypes } from '../../scripts/lib/api-types.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

interface MediaType {
  schema?: Record<string, unknown> & { properties?: Record<string, Record<string, unknown>>; required?: string[] };
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  'x-simsift-roles'?: string[];
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<
    string,
    { description: string; headers?: Record<string, unknown>; content?: Record<string, MediaType> }
  >;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, unknown>> };
}

const BINARY = { type: 'string', format: 'binary' };
const PUBLIC = ['GET /healthz', 'GET /readyz', 'POST /v1/session'];

let env: TestEnv;
let doc: OpenApiDocument;
let operations: [string, Operation][];

beforeAll(async () => {
  env = await createTestEnv();
  const answer = await fetch(`${env.url}/docs/json`);
  expect(answer.status).toBe(200);
  doc = (await answer.json()) as OpenApiDocument;
  operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      operation,
    ]),
  );
});
afterAll(async () => {
  await env?.close();
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI document', async () => {
    const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('gives every operation a summary and a unique camelCase operationId, and keeps hidden routes out', () => {
    expect(operations.length).toBeGreaterThan(20);
    for (const [name, op] of operations) {
      expect(op.summary, name).toMatch(/\S/);
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
    }
    const ids = operations.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const hidden of ['/', '/ui', '/ui/*', '/metrics', '/docs', '/docs/json'])
      expect(doc.paths[hidden]).toBeUndefined();
  });

  it('asks no credentials of public routes and states the roles of every other one', () => {
    const publicOps = operations.filter(([, op]) => op.security?.length === 0).map(([name]) => name);
    expect(publicOps.sort()).toEqual([...PUBLIC].sort());
    for (const [name, op] of operations) {
      if (PUBLIC.includes(name)) {
        expect(op['x-simsift-roles'], name).toBeUndefined();
        continue;
      }
      const roles = op['x-simsift-roles'];
      expect(roles?.length, name).toBeGreaterThan(0);
      expect(op.description, name).toContain(`Roles: ${roles!.join(', ')}.`);
      const schemes = op.security!.map((requirement) => Object.keys(requirement).join());
      // Only analyst and admin keys can open a review UI session.
      const session = roles!.some((role) => role === 'analyst' || role === 'admin');
      expect(schemes, name).toEqual(session ? ['bearer', 'session'] : ['bearer']);
    }
    expect(doc.components.securitySchemes.session).toMatchObject({
      type: 'apiKey',
      in: 'cookie',
      name: 'simsift_session',
    });
    expect(operation('GET /v1/operators')['x-simsift-roles']).toEqual(['analyst', 'admin']);
    expect(operation('POST /v1/reverifications')['x-simsift-roles']).toEqual(['operator']);
    // A cookie session must echo its CSRF token on changes.
    expect(operation('POST /v1/exports').parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'x-csrf-token', required: false }),
    );
  });

  it('matches the server: every documented route that needs credentials answers 401 without them', async () => {
    for (const [name] of operations) {
      const [method, template] = name.split(' ') as [string, string];
      const path = template.replace('{operator}', 'JIO').replace(/\{[^}]+\}/g, '1');
      const answer = await fetch(`${env.url}${path}`, { method });
      await answer.body?.cancel();
      if (PUBLIC.includes(name)) expect(answer.status, name).not.toBe(401);
      else expect(answer.status, name).toBe(401);
    }
  });

  it('documents the multipart upload bodies, and the zip one, without Fastify validating them', () => {
    const upload = operation('POST /v1/batches').requestBody!.content;
    expect(Object.keys(upload)).toEqual(['multipart/form-data', 'application/zip', 'application/x-zip-compressed']);
    const form = upload['multipart/form-data']!.schema!;
    expect(form.properties!.manifest).toMatchObject(BINARY);
    expect(form.properties!.photos).toMatchObject({ type: 'array', items: BINARY });
    expect(form.required).toEqual(['manifest']);
    expect(upload['application/zip']!.schema).toMatchObject(BINARY);

    const check = operation('POST /v1/checks').requestBody!.content;
    expect(Object.keys(check)).toEqual(['multipart/form-data']);
    const fields = check['multipart/form-data']!.schema!;
    expect(fields.properties!.photo).toMatchObject(BINARY);
    expect(fields.required).toEqual(expect.arrayContaining(['msisdn', 'name', 'id_type', 'id_number', 'photo']));
    expect(fields.required).not.toContain('activation_date');
  });

  it('documents the photos, thumbnails and export downloads as files of their content types', () => {
    const files = (name: string) =>
      Object.fromEntries(
        Object.entries(operation(name).responses['200']!.content!).map(([type, media]) => [type, media.schema]),
      );
    expect(files('GET /v1/faces/{id}/photo')).toEqual({
      'image/jpeg': BINARY,
      'image/png': BINARY,
      'image/webp': BINARY,
    });
    expect(files('GET /v1/faces/{id}/thumbnail')).toEqual({ 'image/jpeg': BINARY });
    expect(files('GET /v1/exports/{id}/download')).toEqual({ 'text/csv': BINARY, 'application/json': BINARY });
    expect(operation('GET /v1/faces/{id}/photo').responses['410']).toBeDefined();
  });

  it('documents 429 and 503 wherever they can happen, and errors as problem+json', () => {
    for (const [name, op] of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${name} ${status}`).not.toBe('Default Response');
        // The readiness probe answers 503 with its own body, and no Retry-After.
        if (Number(status) < 400 || name === 'GET /readyz') continue;
        expect(response.content, `${name} ${status}`).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
        if (status === '429' || status === '503') {
          expect(response.headers, `${name} ${status}`).toHaveProperty('Retry-After');
        }
      }
      const statuses = Object.keys(op.responses);
      // The auth hook looks every key up in Postgres and refuses an address that sent too many bad keys.
      if (!PUBLIC.includes(name)) expect(statuses, name).toEqual(expect.arrayContaining(['401', '403', '429', '503']));
      // Fastify's body parser: too large, or not JSON.
      if (op.requestBody?.content['application/json'])
        expect(statuses, name).toEqual(expect.arrayContaining(['413', '415']));
    }
    expect(Object.keys(operation('POST /v1/session').responses)).toEqual(expect.arrayContaining(['429', '503']));
    expect(Object.keys(operation('GET /readyz').responses)).toEqual(['200', '503']);
    expect(Object.keys(operation('GET /healthz').responses)).toEqual(['200']);
    for (const upload of ['POST /v1/batches', 'POST /v1/checks']) {
      expect(Object.keys(operation(upload).responses)).toEqual(expect.arrayContaining(['413', '415', '429', '503']));
    }
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it('names the resources once under components and refers to them, also from inside other components', () => {
    const refTo = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const json = (name: string, status = '200') => operation(name).responses[status]!.content!['application/json']!;
    expect(json('GET /v1/batches/{id}').schema).toEqual(refTo('Batch'));
    expect(json('GET /v1/batches').schema!.properties!.items!.items).toEqual(refTo('Batch'));
    expect(json('POST /v1/batches', '202').schema).toEqual(refTo('UploadResult'));
    expect(json('GET /v1/clusters/{id}').schema).toEqual(refTo('ClusterDetail'));
    const detail = doc.components.schemas.ClusterDetail as { properties: Record<string, { items?: unknown }> };
    expect(detail.properties.members!.items).toEqual(refTo('ClusterMember'));
    expect(detail.properties.candidates!.items).toEqual(refTo('ClusterCandidate'));
    // The document holds no second copy of a named schema.
    const text = JSON.stringify(doc.paths) + JSON.stringify(doc.components.schemas);
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      expect(text.split(JSON.stringify(schema)).length - 1, name).toBe(1);
    }
  });

  it('makes query parameters with a server default optional', () => {
    const limit = operation('GET /v1/clusters').parameters!.find((parameter) => parameter.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false });
  });

  it('generates exactly the committed client types (run `npx tsx scripts/generate-api-types.ts` after a change)', async () => {
    expect(await renderApiTypes(doc)).toBe(await readFile(API_TYPES_FILE, 'utf8'));
  }, 60_000);
});

function operation(name: string): Operation {
  const found = operations.find(([key]) => key === name);
  if (!found) throw new Error(`no operation ${name}`);
  return found[1];
}

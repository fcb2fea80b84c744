import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { SESSION_ROLES, type Role } from '../services/auth.service.js';
import { sessionCookieName } from './auth.js';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * The request body as the OpenAPI document shows it, by content type, for routes that read their body
     * themselves (the streamed multipart and zip uploads). Documentation only: Fastify validates `body`, and
     * validating an upload would mean parsing all of it before the handler streams it.
     */
    documentedBody?: Readonly<Record<string, object>>;
  }
}

type JsonSchema = Record<string, unknown>;

const PROBLEM_REF = 'Problem';

/** What each error status means across the API; a route's description names codes of its own. */
const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400:
    'The request is malformed: a parameter or body fails its schema (`invalid_request`), or a check of this ' +
    'route fails; `code` says which.',
  401: 'No credentials, or an unknown or revoked key (`unauthenticated`, `invalid_api_key`, `session_expired`).',
  403:
    "The caller's role may not use this route (`forbidden`), or a cookie session sent no valid `x-csrf-token` " +
    '(`csrf_token_invalid`).',
  404: 'No such resource, or it belongs to another operator (`not_found`).',
  409: 'The request conflicts with the current state; `code` says how.',
  410: 'The resource existed but was deleted after its retention period.',
  413:
    'The body is over a size limit (`body_too_large`, or an upload limit: `upload_too_large`, `too_many_files`, ' +
    '...).',
  415: 'The body is not of a content type this route reads (`unsupported_media_type`).',
  429:
    'Too many requests; retry after `Retry-After` seconds. `too_many_auth_failures`: this client address sent too ' +
    "many unknown keys within a minute (a valid key is never refused). The route's description names any other reason.",
  503:
    'Postgres or Redis cannot be reached (`service_unavailable`); nothing was half-written. Retry after ' +
    "`Retry-After` seconds. The route's description names any other reason.",
};

const RETRY_AFTER = {
  'Retry-After': { type: 'integer', minimum: 1, description: 'seconds to wait before retrying' },
};

function problemResponse(status: number): JsonSchema {
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'An error; `code` says which.',
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
    content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } },
  };
}

/** Reason phrases for the answers that are not problems, unless their schema describes itself. */
const REASON_PHRASES: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  503: 'Service Unavailable',
};

/** A declared answer with a description (OpenAPI requires one; @fastify/swagger would write "Default Response"). */
function described(status: number, schema: unknown): unknown {
  const own = schema as JsonSchema;
  if (typeof own.$ref === 'string') {
    // A named schema: a reference cannot carry the description, so the answer is written out in full.
    const description = REASON_PHRASES[status] ?? 'The answer.';
    return { description, content: { 'application/json': { schema: own } } };
  }
  if (typeof own.description === 'string' || REASON_PHRASES[status] === undefined) return schema;
  return { ...own, 'x-response-description': REASON_PHRASES[status] };
}

function isProblemRef(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as { $ref?: unknown }).$ref === PROBLEM_REF;
}

/** Errors every authenticated route can answer: the auth hook looks the key or session up in Postgres first. */
const AUTHENTICATED_STATUSES = [401, 403, 429, 503];
/** Errors of Fastify's body parser on every route with a JSON body. */
const JSON_BODY_STATUSES = [413, 415];

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const CSRF_HEADER = {
  type: 'string',
  description: "with the review UI's session cookie: the session's CSRF token (not needed with a bearer key)",
};

/** Leaves out of `required` the query parameters that have a default: the server fills them in. */
function withDefaultsOptional(schema: unknown): unknown {
  const object = schema as { properties?: Record<string, { default?: unknown }>; required?: string[] } | undefined;
  if (!object?.properties || !Array.isArray(object.required)) return schema;
  const properties = object.properties;
  return { ...object, required: object.required.filter((name) => properties[name]?.default === undefined) };
}

function methodsOf(route: RouteOptions): string[] {
  return typeof route.method === 'string' ? [route.method] : [...route.method];
}

/**
 * The schema with every named part (one with an `$id`, registered with `app.addSchema`) replaced by a reference
 * to it, so the document lists it once under `components.schemas` and generated clients name its type. Fastify
 * itself keeps the inline copies: this changes only the document.
 */
function byReference(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(byReference);
  if (typeof schema !== 'object' || schema === null) return schema;
  const own = schema as JsonSchema;
  if (typeof own.$id === 'string') return { $ref: own.$id };
  return Object.fromEntries(Object.entries(own).map(([key, value]) => [key, byReference(value)]));
}

/**
 * Named schemas nested in other named schemas (a cluster's members in `ClusterDetail`) come out of
 * @fastify/swagger written in full; this replaces each such copy with a reference to its component. A copy is
 * found by its converted form, which the same conversion made from the same schema object.
 */
function referNestedComponents<D extends object>(document: D): D {
  const components = (document as { components?: { schemas?: Record<string, unknown> } }).components?.schemas ?? {};
  const nameOf = new Map(Object.entries(components).map(([name, schema]) => [JSON.stringify(schema), name]));
  const refer = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node;
    const name = nameOf.get(JSON.stringify(node));
    if (name !== undefined) return { $ref: `#/components/schemas/${name}` };
    if (Array.isArray(node)) return node.map(refer);
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, refer(value)]));
  };
  for (const [name, schema] of Object.entries(components)) {
    components[name] = Object.fromEntries(
      Object.entries(schema as JsonSchema).map(([key, value]) => [key, refer(value)]),
    );
  }
  return document;
}

/**
 * A route's schema as the OpenAPI document shows it, derived from what the route declares: who may call it
 * (`config.roles` becomes the security requirement, `x-simsift-roles` and a sentence of the description), the
 * errors the auth hook and the body parser add, problem bodies as `application/problem+json`, and the
 * documentation-only body of the upload routes. Only the document changes: Fastify validated and compiled the
 * route's own schema before this runs, and this never mutates it.
 */
function documentRoute(route: RouteOptions, schema: FastifySchema | undefined): FastifySchema {
  if (!schema || schema.hide) return schema ?? {};
  const roles: readonly Role[] | undefined = route.config?.roles;
  const { documentedBody, ...documented } = schema;
  const changesState = methodsOf(route).some((method) => !SAFE_METHODS.has(method));
  const hasJsonBody = schema.body !== undefined;

  const declared = (schema.response ?? {}) as Record<string, unknown>;
  const statuses = new Set(Object.keys(declared).map(Number));
  if (roles) for (const status of AUTHENTICATED_STATUSES) statuses.add(status);
  if (hasJsonBody) for (const status of JSON_BODY_STATUSES) statuses.add(status);
  const response: Record<string, unknown> = {};
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const own = declared[String(status)];
    response[String(status)] =
      own === undefined || isProblemRef(own) ? problemResponse(status) : described(status, byReference(own));
  }

  const description = [
    schema.description,
    roles ? `Roles: ${roles.join(', ')}.` : 'Public: no credentials needed.',
  ].filter(Boolean);
  const acceptsSession = roles?.some((role) => SESSION_ROLES.includes(role)) ?? false;

  let headers = schema.headers as JsonSchema | undefined;
  if (acceptsSession && changesState) {
    const properties = (headers?.properties ?? {}) as JsonSchema;
    headers = { type: 'object', ...headers, properties: { ...properties, 'x-csrf-token': CSRF_HEADER } };
  }

  return {
    ...documented,
    description: description.join(' '),
    ...(schema.querystring ? { querystring: withDefaultsOptional(schema.querystring) } : {}),
    ...(headers ? { headers } : {}),
    ...(documentedBody
      ? {
          body: {
            content: Object.fromEntries(Object.entries(documentedBody).map(([type, s]) => [type, { schema: s }])),
          },
        }
      : {}),
    response,
    security: roles ? (acceptsSession ? [{ bearer: [] }, { session: [] }] : [{ bearer: [] }]) : [],
    ...(roles ? { 'x-simsift-roles': [...roles] } : {}),
  };
}

/**
 * The OpenAPI document (`app.swagger()`, and `/docs/json` when the docs are exposed). Every operation's security,
 * roles and common errors come from `documentRoute`; routes declare only what is their own.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  { exposeDocs, secureCookies }: { exposeDocs: boolean; secureCookies: boolean },
): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'simsift API',
        version: '0.1.0',
        description:
          'Upload KYC batches, follow them, review flagged face clusters. Authenticate with an API key as ' +
          '`Authorization: Bearer <key>`; the review UI signs in with an analyst or admin key and then sends its ' +
          'session cookie, with the `x-csrf-token` header on every change. Errors are `application/problem+json` ' +
          'with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API key (`ssk_...`)' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: sessionCookieName(secureCookies),
            description:
              'the review UI session from `POST /v1/session` (analyst and admin keys); state-changing requests ' +
              'must also send `x-csrf-token`',
          },
        },
      },
      // Each operation states its own; this is the default for any that would not.
      security: [{ bearer: [] }],
    },
    // Shared schemas keep their names (`Problem`) instead of `def-0`, so generated clients name them too.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transform: ({ schema, url, route }) => ({ schema: documentRoute(route, schema), url }),
    // Registered with `openapi` options, so the document is always an OpenAPI 3 one.
    transformObject: (document) => referNestedComponents('openapiObject' in document ? document.openapiObject : {}),
  });
  // The document is built either way (tests and the API types generator read it); its pages only when configured.
  if (exposeDocs) await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
}

import createClient, {
  type Client,
  type ClientPathsWithMethod,
  type MaybeOptionalInit,
  type MethodResponse,
} from 'openapi-fetch';
import type { components, paths } from './api-types.js';
import { CliError, EXIT, ServiceUnreachableError } from './cli-errors.js';

/** The problem+json body the API sends with every error. */
interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  message?: string;
}

/** The API as openapi-fetch sees it, typed by the generated `paths` (src/cli/api-types.ts). */
export type Api = Client<paths>;
type Method = 'get' | 'post';

/**
 * The body of a successful answer to `method path`, as the OpenAPI document types it (for `init` with `parseAs`,
 * an ArrayBuffer, text, ...).
 */
export type ApiData<M extends Method, P extends ClientPathsWithMethod<Api, M>, Init = object> = MethodResponse<
  Api,
  M,
  P,
  Init
>;

/** A batch as the API describes it (`GET /v1/batches/{id}`, and each item of `GET /v1/batches`). */
export type Batch = components['schemas']['Batch'];

/** openapi-fetch's client with its generics erased: `get` and `post` forward to it, typed as openapi-fetch types it. */
interface UntypedClient {
  GET(path: string, init?: object): Promise<{ data?: unknown }>;
  POST(path: string, init?: object): Promise<{ data?: unknown }>;
}

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** The request options argument, required when the route has required parameters or a body (as openapi-fetch). */
type InitArgument<Init> = RequiredKeys<Init> extends never ? [init?: Init] : [init: Init];

/**
 * The client for the simsift HTTP API as the CLI uses it: openapi-fetch typed by the API's OpenAPI document, a
 * bearer key, and errors turned into exit codes (3: API unreachable, 2: key refused, 1: any other error answer).
 * Paths are absolute (`/v1/...`) and resolved against the URL's origin, as `simsift upload` resolves them.
 */
export class ApiClient {
  /** The typed openapi-fetch client; error answers and unreachable servers are thrown as CliErrors, never returned. */
  readonly api: Api;

  constructor(
    readonly baseUrl: string,
    key: string | undefined,
  ) {
    if (!key) throw new CliError('pass --key or set SIMSIFT_API_KEY', EXIT.usage);
    let origin: string;
    try {
      origin = new URL(baseUrl).origin;
    } catch {
      throw new CliError(`--url must be an http(s) URL (got "${baseUrl}")`, EXIT.usage);
    }
    this.api = createClient<paths>({ baseUrl: origin, headers: { authorization: `Bearer ${key}` } });
    this.api.use({
      onError: ({ error }) =>
        new ServiceUnreachableError(
          'the simsift API',
          baseUrl,
          'start it with `simsift serve`, or pass --url (SIMSIFT_URL)',
          error,
        ),
      onResponse: async ({ request, response }) => {
        if (response.ok) return undefined;
        const url = new URL(request.url);
        throw await apiError(response, `${request.method} ${url.pathname}${url.search}`);
      },
    });
  }

  /** GET `path`: its typed answer (parsed as `init.parseAs`, JSON by default); an error answer throws a CliError. */
  async get<P extends ClientPathsWithMethod<Api, 'get'>, Init extends MaybeOptionalInit<paths[P], 'get'>>(
    path: P,
    ...[init]: InitArgument<Init>
  ): Promise<ApiData<'get', P, Init>> {
    return (await (this.api as unknown as UntypedClient).GET(path, init)).data as ApiData<'get', P, Init>;
  }

  /** POST `path` (a JSON body): its typed answer; an error answer throws a CliError. */
  async post<P extends ClientPathsWithMethod<Api, 'post'>, Init extends MaybeOptionalInit<paths[P], 'post'>>(
    path: P,
    ...[init]: InitArgument<Init>
  ): Promise<ApiData<'post', P, Init>> {
    return (await (this.api as unknown as UntypedClient).POST(path, init)).data as ApiData<'post', P, Init>;
  }
}

type GetPath = ClientPathsWithMethod<Api, 'get'>;
/** The lists paged by cursor: GET answers `{ items, next_cursor }` and there are no path parameters to fill. */
type PagedPath = {
  [P in GetPath]: ApiData<'get', P> extends { items: unknown[]; next_cursor: string | null }
    ? paths[P]['get']['parameters']['path'] extends undefined
      ? P
      : never
    : never;
}[GetPath];
type PageQuery<P extends PagedPath> = Omit<NonNullable<paths[P]['get']['parameters']['query']>, 'cursor' | 'limit'>;
type PageItem<P extends PagedPath> = ApiData<'get', P>['items'][number];

/** Every page of a cursor-paginated list endpoint (`items` and `next_cursor`), 500 at a time. */
export async function listAll<P extends PagedPath>(
  client: ApiClient,
  path: P,
  query?: PageQuery<P>,
): Promise<PageItem<P>[]> {
  const get = client.get.bind(client) as unknown as (
    path: string,
    init: { params: { query: Record<string, unknown> } },
  ) => Promise<{ items: PageItem<P>[]; next_cursor: string | null }>;
  const items: PageItem<P>[] = [];
  let cursor: string | null = null;
  do {
    const page = await get(path, { params: { query: { ...query, limit: 500, ...(cursor ? { cursor } : {}) } } });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** An error answer as a CliError: a refused key is a usage error (2), anything else a failure (1). */
export async function apiError(response: Response, what: string): Promise<CliError> {
  const text = await response.text().catch(() => '');
  let problem: Problem = {};
  try {
    problem = JSON.parse(text) as Problem;
  } catch {
    // not problem+json
  }
  const detail = problem.detail ?? problem.message ?? problem.title ?? text.slice(0, 200);
  const code = problem.code ? ` (${problem.code})` : '';
  const refused = response.status === 401 || response.status === 403;
  return new CliError(
    `${what}: HTTP ${response.status} ${detail}${code}${refused ? ': check --key (SIMSIFT_API_KEY) and its role' : ''}`,
    refused ? EXIT.usage : EXIT.failure,
  );
}

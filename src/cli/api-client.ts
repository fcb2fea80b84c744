import { CliError, EXIT, ServiceUnreachableError } from './cli-errors.js';

/** The problem+json body the API sends with every error. */
interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  message?: string;
}

/**
 * A small client for the simsift HTTP API as the CLI uses it: bearer key, JSON in and out, and errors turned
 * into exit codes (3: API unreachable, 2: key refused, 1: any other error answer).
 */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string | undefined,
  ) {
    if (!key) throw new CliError('pass --key or set SIMSIFT_API_KEY', EXIT.usage);
    try {
      new URL(baseUrl);
    } catch {
      throw new CliError(`--url must be an http(s) URL (got "${baseUrl}")`, EXIT.usage);
    }
  }

  async get<T>(path: string): Promise<T> {
    return (await this.request('GET', path)).json() as Promise<T>;
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await this.request('POST', path, body)).json() as Promise<T>;
  }

  /** The raw body of a GET (file downloads). */
  async bytes(path: string): Promise<Buffer> {
    return Buffer.from(await (await this.request('GET', path)).arrayBuffer());
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new ServiceUnreachableError(
        'the simsift API',
        this.baseUrl,
        'start it with `simsift serve`, or pass --url (SIMSIFT_URL)',
        error,
      );
    }
    if (response.ok) return response;
    throw await apiError(response, `${method} ${path}`);
  }
}

/** Every page of a cursor-paginated list endpoint (`items` and `next_cursor`), 500 at a time. */
export async function listAll<T>(client: ApiClient, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page: { items: T[]; next_cursor: string | null } = await client.get(
      `${path}${separator}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
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

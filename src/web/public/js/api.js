/* global fetch */
// The review API from the browser: the session cookie travels by itself; state-changing calls add the CSRF token.

/** @typedef {import('./types.js').Session} Session */

/** A problem+json error from the API (or a network failure, status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken = '';
/** @type {((error: ApiError) => void) | null} */
let onSignedOut = null;

/** @param {string} token */
export function setCsrfToken(token) {
  csrfToken = token;
}

/**
 * Called when a request finds the session gone (expired, signed out in another tab).
 * @param {(error: ApiError) => void} handler
 */
export function onSessionEnded(handler) {
  onSignedOut = handler;
}

/**
 * Builds a query string from the set values only.
 * @param {Record<string, string | number | boolean | null | undefined>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * @param {unknown} body
 * @param {number} status
 */
function problemOf(body, status) {
  if (body && typeof body === 'object') {
    const problem = /** @type {{ code?: unknown, detail?: unknown, title?: unknown }} */ (body);
    const code = typeof problem.code === 'string' ? problem.code : `http_${status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : undefined;
    const title = typeof problem.title === 'string' ? problem.title : `HTTP ${status}`;
    return new ApiError(status, code, detail ?? title);
  }
  return new ApiError(status, `http_${status}`, `HTTP ${status}`);
}

/**
 * Calls the API and returns its JSON body (undefined for 204).
 * @template T
 * @param {string} path
 * @param {{ method?: 'GET' | 'POST' | 'DELETE', body?: unknown, quiet401?: boolean }} [options]
 * @returns {Promise<T>}
 */
export async function api(path, options = {}) {
  const method = options.method ?? 'GET';
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached. Check the connection and try again.');
  }
  const type = response.headers.get('content-type') ?? '';
  /** @type {unknown} */
  const body =
    response.status === 204 ? undefined : type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    const error = problemOf(body, response.status);
    if (response.status === 401 && !options.quiet401) onSignedOut?.(error);
    throw error;
  }
  return /** @type {T} */ (body);
}

/** @returns {Promise<Session | null>} the current session, or null when signed out */
export async function currentSession() {
  try {
    return await api('/v1/session', { quiet401: true });
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

/**
 * @param {unknown} error
 * @returns {string} a message for the analyst
 */
export function messageOf(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

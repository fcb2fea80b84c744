/**
 * The admin queue dashboard (bull-board at /admin/queues): admins only, by key or review session, on every route
 * it adds (page, static files, JSON API), with the service's problem+json refusals; read-only unless
 * SIMSIFT_QUEUE_DASHBOARD=write, and then only retry, promote and remove; absent from the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '../../src/jobs/job-registry.js';
import { addFailedJob, jobState } from '../helpers/queue-jobs.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

let readOnly: TestEnv;
let writable: TestEnv;
const keys: Record<string, string> = {};

/** A GET or PUT to `env` with a bearer key, or cookies, or neither. */
async function call(
  env: TestEnv,
  method: 'GET' | 'PUT' | 'HEAD',
  path: string,
  auth: { key?: string; cookie?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...auth.headers };
  if (auth.key) headers.authorization = `Bearer ${auth.key}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  const response = await fetch(`${env.url}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', text, headers: response.headers };
}

/** The `code` of a problem+json body. */
function codeOf(text: string): string | undefined {
  return (JSON.parse(text) as { code?: string }).code;
}

/** Signs `key` in to the review UI and returns its cookies as a Cookie header, and the session's CSRF token. */
async function signIn(env: TestEnv, key: string): Promise<{ cookie: string; csrfToken: string }> {
  const response = await fetch(`${env.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  expect(response.status).toBe(200);
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  return { cookie: response.headers.get('set-cookie')!.split(';')[0]!, csrfToken };
}

// Every kind of route bull-board adds: its page (and client-side routes), a static file, and its JSON API.
const DASHBOARD_ROUTES = [
  '/admin/queues',
  '/admin/queues/',
  '/admin/queues/queue/faces',
  '/admin/queues/static/favicon-32x32.png',
  '/admin/queues/api/queues',
  '/admin/queues/api/redis/stats',
];

beforeAll(async () => {
  [readOnly, writable] = await Promise.all([createTestEnv(), createTestEnv({ queueDashboard: 'write' })]);
  keys.admin = await readOnly.key('admin');
  keys.analyst = await readOnly.key('analyst');
  keys.operator = await readOnly.key('operator', 'JIO');
  keys.writableAdmin = await writable.key('admin');
  await Promise.all([
    addFailedJob(readOnly.config, QueueName.Faces, 'embed-4242'),
    addFailedJob(writable.config, QueueName.Faces, 'embed-4242'),
    addFailedJob(writable.config, QueueName.Faces, 'embed-4343'),
    addFailedJob(writable.config, QueueName.Cluster, 'cluster-4242'),
  ]);
});

afterAll(async () => {
  await readOnly?.close();
  await writable?.close();
});

describe('who may open the queue dashboard', () => {
  it('answers 401 unauthenticated problem+json without a key, on every kind of dashboard route', async () => {
    for (const path of DASHBOARD_ROUTES) {
      const answer = await call(readOnly, 'GET', path);
      expect([path, answer.status, answer.type]).toEqual([path, 401, 'application/problem+json; charset=utf-8']);
      expect(JSON.parse(answer.text)).toMatchObject({ status: 401, code: 'unauthenticated' });
    }
    expect((await call(readOnly, 'HEAD', '/admin/queues/static/favicon-32x32.png')).status).toBe(401);
    expect((await call(readOnly, 'PUT', '/admin/queues/api/queues/faces/embed-4242/retry')).status).toBe(401);
    const badKey = await call(readOnly, 'GET', '/admin/queues/api/queues', { key: 'ssk_not_a_key' });
    expect([badKey.status, codeOf(badKey.text)]).toEqual([401, 'invalid_api_key']);
  });

  it('answers 403 forbidden problem+json to an analyst or operator key, and to an analyst session', async () => {
    const session = await signIn(readOnly, keys.analyst!);
    for (const auth of [{ key: keys.analyst! }, { key: keys.operator! }, { cookie: session.cookie }]) {
      for (const path of DASHBOARD_ROUTES) {
        const answer = await call(readOnly, 'GET', path, auth);
        expect([path, answer.status, answer.type]).toEqual([path, 403, 'application/problem+json; charset=utf-8']);
        expect(JSON.parse(answer.text)).toMatchObject({ status: 403, code: 'forbidden' });
        expect(answer.text).not.toContain('embed-4242');
      }
    }
  });

  it('shows an admin the faces and cluster queues, by key or by review session', async () => {
    const session = await signIn(readOnly, keys.admin!);
    for (const auth of [{ key: keys.admin! }, { cookie: session.cookie }]) {
      const page = await call(readOnly, 'GET', '/admin/queues', auth);
      expect(page.status).toBe(200);
      expect(page.type).toMatch(/^text\/html/);
      expect(page.text).toContain('<base href="/admin/queues/"');
      expect(page.text).toMatch(/<script defer src="static\/js\/main\.[0-9a-f]+\.js">/);
      const api = await call(readOnly, 'GET', '/admin/queues/api/queues?activeQueue=faces&status=failed', auth);
      expect(api.status).toBe(200);
      const body = JSON.parse(api.text) as {
        queues: { name: string; readOnlyMode: boolean; jobs: { id: string }[] }[];
      };
      // The checks queue is not shown: its jobs carry a subscriber's photo and details.
      expect(body.queues.map((queue) => queue.name).sort()).toEqual(['cluster', 'faces']);
      const faces = body.queues.find((queue) => queue.name === 'faces')!;
      expect(faces.readOnlyMode).toBe(true);
      expect(faces.jobs.map((job) => job.id)).toEqual(['embed-4242']);
      const asset = await call(readOnly, 'GET', '/admin/queues/static/favicon-32x32.png', auth);
      expect([asset.status, asset.type]).toEqual([200, 'image/png']);
    }
  });

  it('reads the queues under the configured prefix', async () => {
    const api = await call(readOnly, 'GET', '/admin/queues/api/queues?activeQueue=faces&status=failed', {
      key: keys.admin!,
    });
    const faces = (JSON.parse(api.text) as { queues: { name: string; counts: { failed: number } }[] }).queues.find(
      (queue) => queue.name === 'faces',
    )!;
    expect(faces.counts.failed).toBe(1);
    // The writable env's prefix holds other failed jobs; none of them shows here.
    expect(api.text).not.toContain('embed-4343');
  });

  it('serves the dashboard under its own CSP, and keeps it out of the OpenAPI document', async () => {
    const page = await call(readOnly, 'GET', '/admin/queues', { key: keys.admin! });
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("base-uri 'self'");
    expect(csp).not.toContain('https:');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Outside the dashboard, the API keeps helmet's policy.
    expect((await call(readOnly, 'GET', '/healthz')).headers.get('content-security-policy')).toContain(
      "style-src 'self' https: 'unsafe-inline'",
    );
    const docs = (await (await fetch(`${readOnly.url}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths).filter((path) => path.startsWith('/admin'))).toEqual([]);
    expect(Object.keys(docs.paths)).toContain('/v1/keys');
  });
});

describe('read-only by default', () => {
  it('refuses to retry or remove a job, or a whole status, even for an admin (405)', async () => {
    for (const path of [
      '/admin/queues/api/queues/faces/embed-4242/retry',
      '/admin/queues/api/queues/faces/embed-4242/clean',
      '/admin/queues/api/queues/faces/retry/failed',
      '/admin/queues/api/queues/faces/clean/failed',
    ]) {
      const answer = await call(readOnly, 'PUT', path, { key: keys.admin! });
      expect([path, answer.status, answer.text]).toEqual([path, 405, '{"error":{"key":"ERRORS.QUEUE_READ_ONLY"}}']);
    }
    expect(await jobState(readOnly.config, QueueName.Faces, 'embed-4242')).toBe('failed');
  });
});

describe('with SIMSIFT_QUEUE_DASHBOARD=write', () => {
  it('lets an admin retry and remove jobs', async () => {
    const auth = { key: keys.writableAdmin! };
    const api = await call(writable, 'GET', '/admin/queues/api/queues?activeQueue=faces&status=failed', auth);
    expect((JSON.parse(api.text) as { queues: { readOnlyMode: boolean }[] }).queues[0]!.readOnlyMode).toBe(false);

    const retried = await call(writable, 'PUT', '/admin/queues/api/queues/faces/embed-4242/retry', auth);
    expect(retried.status, retried.text).toBe(204);
    expect(await jobState(writable.config, QueueName.Faces, 'embed-4242')).toBe('waiting');

    const removed = await call(writable, 'PUT', '/admin/queues/api/queues/cluster/cluster-4242/clean', auth);
    expect(removed.status, removed.text).toBe(204);
    expect(await jobState(writable.config, QueueName.Cluster, 'cluster-4242')).toBe('unknown');
  });

  it('still refuses analysts, and bull-board writes beyond retry, promote and remove', async () => {
    const analyst = await writable.key('analyst');
    const refused = await call(writable, 'PUT', '/admin/queues/api/queues/faces/embed-4343/retry', { key: analyst });
    expect([refused.status, codeOf(refused.text)]).toEqual([403, 'forbidden']);
    for (const path of ['/admin/queues/api/queues/faces/empty', '/admin/queues/api/queues/faces/pause']) {
      const answer = await call(writable, 'PUT', path, { key: keys.writableAdmin! });
      expect([path, answer.status]).toEqual([path, 403]);
      expect(answer.text).toContain('simsift allows only retrying, promoting and removing jobs');
    }
    expect(await jobState(writable.config, QueueName.Faces, 'embed-4343')).toBe('failed');
  });

  it("asks a review session for its CSRF token, which the page hands bull-board's client as XSRF-TOKEN", async () => {
    const session = await signIn(writable, keys.writableAdmin!);
    const page = await call(writable, 'GET', '/admin/queues', { cookie: session.cookie });
    const xsrf = page.headers.get('set-cookie') ?? '';
    expect(xsrf).toContain(`XSRF-TOKEN=${session.csrfToken}`);
    expect(xsrf).toContain('Path=/admin/queues');
    expect(xsrf).toContain('SameSite=Strict');
    expect(xsrf).not.toContain('HttpOnly');

    const path = '/admin/queues/api/queues/faces/embed-4343/clean';
    const forged = await call(writable, 'PUT', path, { cookie: session.cookie });
    expect([forged.status, codeOf(forged.text)]).toEqual([403, 'csrf_token_invalid']);
    const wrong = await call(writable, 'PUT', path, { cookie: session.cookie, headers: { 'x-xsrf-token': 'x' } });
    expect(wrong.status).toBe(403);
    expect(await jobState(writable.config, QueueName.Faces, 'embed-4343')).toBe('failed');

    const removed = await call(writable, 'PUT', path, {
      cookie: session.cookie,
      headers: { 'x-xsrf-token': session.csrfToken },
    });
    expect(removed.status, removed.text).toBe(204);
    expect(await jobState(writable.config, QueueName.Faces, 'embed-4343')).toBe('unknown');
  });
});

describe('with SIMSIFT_QUEUE_DASHBOARD=off', () => {
  it('mounts nothing: 404 for admins too', async () => {
    const off = await createTestEnv({ queueDashboard: 'off' });
    try {
      const admin = await off.key('admin');
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const answer = await call(off, 'GET', path, { key: admin });
        expect([path, answer.status, codeOf(answer.text)]).toEqual([path, 404, 'route_not_found']);
      }
    } finally {
      await off.close();
    }
  });
});

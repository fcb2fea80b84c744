/**
 * Security properties of the API, on one small batch run through the real pipeline (face worker and cluster
 * worker in process): operators see only their own data (404, not 403), roles hold, revoked keys stop at once,
 * bad keys are rate-limited, security headers are set, CORS stays closed, and no identity document number
 * reaches the database, the export files or the logs in plain text.
 */
import net from 'node:net';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createContainer } from '../../src/container.js';
import { createLogger } from '../../src/logger.js';
import { startWorkers } from '../helpers/in-process-workers.js';
import { logCapture } from '../helpers/log-capture.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { waitFor } from '../helpers/upload.js';

const { lines: logLines, sink: logSink } = logCapture();

let env: TestEnv;
const keys: Record<string, string> = {};
let workers: { close(): Promise<void> } | undefined;

// Planted documents: valid numbers that must never appear in plain text anywhere.
const AADHAAR = sampleRow(4242, 'x').id_number;
const PAN = 'AFZPK7190K';
const BAD_PAN = 'AFZPK71900';

let batchId: string;
let clusterId: number;
let faceId: number;
let exportId: number;
let posAgentId: string;

async function call<T = Record<string, unknown>>(
  method: string,
  url: string,
  key: string | null,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const all: Record<string, string> = { ...headers };
  if (key) all.authorization = `Bearer ${key}`;
  if (body !== undefined) all['content-type'] = 'application/json';
  const response = await fetch(`${env.url}${url}`, {
    method,
    headers: all,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = Buffer.from(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? '';
  const parsed = type.includes('json') && text.length > 0 ? (JSON.parse(text.toString('utf8')) as T) : ({} as T);
  return { status: response.status, body: parsed, headers: response.headers };
}

beforeAll(async () => {
  env = await createTestEnv({ logLevel: 'trace' }, logSink);
  Object.assign(keys, await env.keys(['JIO', 'AIRTEL'], ['analyst', 'admin']));
  const workerLogger = createLogger({ logLevel: 'trace' }, 'test-worker', logSink);
  workers = await startWorkers(env.config, workerLogger);

  // One person under three identities at JIO (a ring), one of them on a PAN card; a fourth row with a bad PAN.
  const rows = [
    { ...sampleRow(4242, 'a.jpg') },
    { ...sampleRow(4243, 'b.jpg'), id_type: 'pan', id_number: PAN },
    { ...sampleRow(4244, 'c.jpg') },
    { ...sampleRow(4245, 'a.jpg'), id_type: 'pan', id_number: BAD_PAN },
  ];
  posAgentId = rows[0]!.pos_agent_id;
  const form = new FormData();
  form.append('manifest', new Blob([manifestCsv(rows)]), 'manifest.csv');
  for (const [i, name] of ['a.jpg', 'b.jpg', 'c.jpg'].entries()) {
    form.append(name, new Blob([new Uint8Array(await portrait(1, 0, i))]), name);
  }
  const upload = await fetch(`${env.url}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys.jio}` },
    body: form,
  });
  const uploaded = (await upload.json()) as { batch_id: string; accepted: number; errors: { code: string }[] };
  expect(uploaded.accepted).toBe(3);
  expect(uploaded.errors.map((e) => e.code)).toEqual(['invalid_pan']);
  batchId = uploaded.batch_id;

  const flagged = await waitFor(
    async () => {
      const list = await call<{ items: { id: number; size: number }[] }>(
        'GET',
        '/v1/clusters?flagged=true',
        keys.analyst!,
      );
      return list.body.items.find((c) => c.size === 3);
    },
    120_000,
    'the flagged ring',
  );
  clusterId = flagged.id;
  const detail = await call<{ members: { faceId: number }[] }>('GET', `/v1/clusters/${clusterId}`, keys.analyst!);
  faceId = detail.body.members[0]!.faceId;
  const decided = await call('POST', `/v1/clusters/${clusterId}/decisions`, keys.analyst!, { action: 'confirm' });
  expect(decided.status).toBe(200);
  const exported = await call<{ id: number; rowCount: number }>('POST', '/v1/exports', keys.analyst!, {
    operator: 'JIO',
  });
  expect(exported.body.rowCount).toBe(3);
  exportId = exported.body.id;
}, 180_000);

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

describe('operator isolation', () => {
  const paths = () => [
    `/v1/batches/${batchId}`,
    `/v1/batches/${batchId}/records`,
    `/v1/batches/${batchId}/errors`,
    `/v1/clusters/${clusterId}`,
    `/v1/faces/${faceId}/thumbnail`,
    `/v1/faces/${faceId}/photo`,
    `/v1/exports/${exportId}/download`,
    `/v1/exports/${exportId}/download?format=json`,
  ];

  it('lets the owning operator read its batch, cluster, faces and export', async () => {
    for (const url of paths()) expect([url, (await call('GET', url, keys.jio!)).status]).toEqual([url, 200]);
  });

  it('answers 404 (not 403) to another operator for each of them, and lists none of them', async () => {
    for (const url of paths()) {
      const answer = await call<{ code: string }>('GET', url, keys.airtel!);
      expect([url, answer.status]).toEqual([url, 404]);
    }
    const candidates = await call<{ items: unknown[] }>('GET', '/v1/block-candidates', keys.airtel!);
    expect(candidates.body.items).toEqual([]);
    const clusters = await call<{ items: unknown[] }>('GET', '/v1/clusters', keys.airtel!);
    expect(clusters.body.items).toEqual([]);
    const exports = await call<{ items: unknown[] }>('GET', '/v1/exports', keys.airtel!);
    expect(exports.body.items).toEqual([]);
    const batches = await call<{ items: unknown[] }>('GET', '/v1/batches', keys.airtel!);
    expect(batches.body.items).toEqual([]);
    const enrolments = await call<{ items?: unknown[] }>(
      'GET',
      `/v1/agents/JIO/${posAgentId}/enrolments`,
      keys.airtel!,
    );
    expect(enrolments.status === 404 || enrolments.body.items?.length === 0).toBe(true);
  });
});

describe('roles and keys', () => {
  it('does not let an analyst (or an operator) manage keys or operators: 403', async () => {
    for (const key of [keys.analyst!, keys.jio!]) {
      expect((await call('POST', '/v1/keys', key, { role: 'admin' })).status).toBe(403);
      expect((await call('DELETE', '/v1/keys/1', key)).status).toBe(403);
      expect((await call('POST', '/v1/operators', key, { code: 'EVIL', name: 'Evil' })).status).toBe(403);
    }
    expect((await call('POST', `/v1/clusters/${clusterId}/decisions`, keys.jio!, { action: 'confirm' })).status).toBe(
      403,
    );
  });

  it('stops a revoked key, and the review session made with it, on the very next request', async () => {
    const created = await call<{ key: string; id: number }>('POST', '/v1/keys', keys.admin!, { role: 'analyst' });
    const key = created.body.key;
    expect((await call('GET', '/v1/clusters', key)).status).toBe(200);
    const signIn = await fetch(`${env.url}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('GET', '/v1/clusters', null, undefined, { cookie })).status).toBe(200);
    expect((await call('DELETE', `/v1/keys/${created.body.id}`, keys.admin!)).status).toBe(204);
    expect(await call('GET', '/v1/clusters', key)).toMatchObject({ status: 401, body: { code: 'invalid_api_key' } });
    expect((await call('GET', '/v1/clusters', null, undefined, { cookie })).status).toBe(401);
  });
});

describe('slow clients', () => {
  it('closes a connection that stops sending halfway through its request', async () => {
    const slow = await createTestEnv({ idleTimeoutMs: 500 });
    try {
      const key = await slow.key('operator', 'JIO');
      const { hostname, port } = new URL(slow.url);
      const socket = net.connect(Number(port), hostname);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      // Headers of an upload, then nothing: a slowloris.
      socket.write(
        `POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/zip\r\n` +
          'Content-Length: 1000\r\n\r\nab',
      );
      const started = Date.now();
      await new Promise<void>((resolve, reject) => {
        socket.once('close', () => resolve());
        socket.once('error', () => resolve());
        setTimeout(() => reject(new Error('the server kept the idle connection open')), 5_000);
      });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await slow.close();
    }
  });
});

describe('service pages in production', () => {
  it('answers 404 for /metrics and /docs unless exposed', async () => {
    const production = await createTestEnv({ exposeMetrics: false, exposeDocs: false });
    try {
      for (const page of ['/metrics', '/docs/', '/docs/json']) {
        expect((await fetch(`${production.url}${page}`)).status).toBe(404);
      }
      expect((await fetch(`${production.url}/healthz`)).status).toBe(200);
    } finally {
      await production.close();
    }
  });
});

describe('the review session cookie outside development', () => {
  it('is __Host- prefixed and Secure whatever the protocol the request arrived by', async () => {
    const production = await createTestEnv({ secureCookies: true });
    try {
      const analyst = await production.key('analyst');
      // Plain HTTP to the app, as behind a proxy that ends TLS.
      const signIn = await fetch(`${production.url}/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: analyst }),
      });
      expect(signIn.status).toBe(200);
      const setCookie = signIn.headers.get('set-cookie')!;
      expect(setCookie).toMatch(/^__Host-simsift_session=/);
      expect(setCookie).toMatch(/; Secure/);
      expect(setCookie).toMatch(/; Path=\//);
      expect(setCookie).toMatch(/; HttpOnly/);
      expect(setCookie).not.toMatch(/Domain=/i);
      const cookie = setCookie.split(';')[0]!;
      const list = await fetch(`${production.url}/v1/clusters`, { headers: { cookie } });
      expect(list.status).toBe(200);
      // The development name is not accepted in its place.
      const renamed = cookie.replace('__Host-simsift_session', 'simsift_session');
      expect((await fetch(`${production.url}/v1/clusters`, { headers: { cookie: renamed } })).status).toBe(401);
    } finally {
      await production.close();
    }
  });
});

describe('security headers and CORS', () => {
  it('sets helmet headers on API answers and keeps the stricter CSP of the review UI', async () => {
    const api = await call('GET', '/v1/batches', keys.jio!);
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(api.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(api.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(api.headers.get('x-powered-by')).toBeNull();
    const ui = await fetch(`${env.url}/ui/`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(ui.headers.get('x-frame-options')).toBe('DENY');
    const docs = await fetch(`${env.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-initializer.js');
    expect((await fetch(`${env.url}/docs/static/swagger-initializer.js`)).status).toBe(200);
  });

  it('sets the same headers on error answers', async () => {
    const answers = [
      await call('GET', '/v1/batches', null),
      await call('GET', '/v1/no-such-route', keys.jio!),
      await call('GET', '/v1/batches?limit=-1', keys.jio!),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([401, 404, 400]);
    for (const answer of answers) {
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(answer.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    }
  });

  it('parses multipart bodies only on the upload routes: elsewhere they are 415 unsupported_media_type', async () => {
    const form = new FormData();
    form.append('code', 'EVIL');
    const response = await fetch(`${env.url}/v1/operators`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.admin!}` },
      body: form,
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'unsupported_media_type' });
  });

  it('never answers with Access-Control-Allow-Origin, to simple or preflight requests', async () => {
    const origin = 'https://evil.example';
    const simple = await call('GET', '/v1/batches', keys.jio!, undefined, { origin });
    expect(simple.status).toBe(200);
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${env.url}/v1/batches`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('request log', () => {
  it('writes one line per request, on completion, with its id, method, URL, status and time', async () => {
    const before = logLines.length;
    const answer = await fetch(`${env.url}/v1/batches/${batchId}`, {
      headers: { authorization: `Bearer ${keys.jio!}`, 'x-request-id': 'poll-42' },
    });
    expect(answer.status).toBe(200);
    await waitFor(
      async () => (logLines.slice(before).some((line) => line.includes('poll-42')) ? true : undefined),
      5_000,
      'the request log line',
    );
    const lines = logLines
      .slice(before)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.reqId === 'poll-42');
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'request completed',
        method: 'GET',
        url: `/v1/batches/${batchId}`,
        remoteAddress: '127.0.0.1',
        statusCode: 200,
        responseTime: expect.any(Number) as unknown,
      }),
    ]);
  });
});

describe('personal data at rest and in logs', () => {
  it('keeps the planted Aadhaar and PAN numbers out of every table, the export files and the logs', async () => {
    const database = new URL(env.config.databaseUrl);
    const { stdout: dump } = await promisify(execFile)(
      'pg_dump',
      [
        '--data-only',
        '--no-owner',
        '-h',
        database.hostname,
        '-p',
        database.port || '5432',
        '-U',
        'postgres',
        database.pathname.slice(1),
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    // The dump holds the pipeline's whole output: the records, faces, the ring, its candidates and the audit log.
    expect(dump).toContain('COPY public.block_candidates');
    expect(dump).toMatch(/XXXXXX190K/);
    const exportsDir = path.join(env.config.dataDir, 'exports');
    const exportFiles = await readdir(exportsDir, { recursive: true }).catch(() => []);
    const exportText = (
      await Promise.all(
        exportFiles.map((file) =>
          readFile(path.join(exportsDir, String(file))).then(
            (b) => b.toString('utf8'),
            () => '',
          ),
        ),
      )
    ).join('\n');
    expect(exportText.length).toBeGreaterThan(0);
    const logs = logLines.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const [where, text] of [
      ['database', dump],
      ['exports', exportText],
      ['logs', logs],
    ] as const) {
      for (const secret of [AADHAAR, PAN, PAN.slice(0, 6), BAD_PAN]) {
        expect(text.includes(secret) ? `${secret} found in ${where}` : 'absent').toBe('absent');
      }
      expect(text).not.toContain(keys.jio!);
    }
  });
});

describe('failed authentication rate limit', () => {
  it('answers 429 with Retry-After to further bad keys after N per minute from one address, never to a good key', async () => {
    const limited = await createTestEnv({ maxAuthFailuresPerMinute: 3 });
    try {
      const good = await limited.key('operator', 'VI');
      const get = (key: string) => fetch(`${limited.url}/v1/batches`, { headers: { authorization: `Bearer ${key}` } });
      for (let i = 0; i < 2; i++) expect((await get(`ssk_wrong-${i}`)).status).toBe(401);
      // A failed sign-in to the review UI counts as well.
      const signIn = (key: string) =>
        fetch(`${limited.url}/v1/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key }),
        });
      expect((await signIn('ssk_wrong-sign-in')).status).toBe(401);
      const blocked = await get('ssk_wrong-3');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await blocked.json()).toMatchObject({ code: 'too_many_auth_failures' });
      expect((await signIn('ssk_wrong-sign-in-2')).status).toBe(429);
      // Behind one load balancer every operator shares the address: a valid key still works.
      expect((await get(good)).status).toBe(200);
      expect((await signIn(await limited.key('analyst'))).status).toBe(200);
      expect((await get('ssk_wrong-4')).status).toBe(429);
      // Public endpoints stay reachable.
      expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('tells clients apart behind a trusted proxy by X-Forwarded-For, and ignores it from anyone else', async () => {
    const proxied = await createTestEnv({ maxAuthFailuresPerMinute: 2, trustProxy: ['127.0.0.1', '::1'] });
    const direct = await createTestEnv({ maxAuthFailuresPerMinute: 2 });
    try {
      const get = (url: string, key: string, client: string) =>
        fetch(`${url}/v1/batches`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client } });
      for (const key of ['ssk_a1', 'ssk_a2']) expect((await get(proxied.url, key, '203.0.113.7')).status).toBe(401);
      expect((await get(proxied.url, 'ssk_a3', '203.0.113.7')).status).toBe(429);
      // Another client behind the same proxy is not blocked by the first one's failures.
      expect((await get(proxied.url, 'ssk_b1', '198.51.100.4')).status).toBe(401);
      // Without trustProxy a forged header changes nothing: the address is the connection's.
      for (const key of ['ssk_c1', 'ssk_c2']) expect((await get(direct.url, key, '203.0.113.7')).status).toBe(401);
      expect((await get(direct.url, 'ssk_c3', '198.51.100.4')).status).toBe(429);
    } finally {
      await proxied.close();
      await direct.close();
    }
  });

  it('holds the limit across API processes: their failures are counted together', async () => {
    const first = await createTestEnv({ maxAuthFailuresPerMinute: 3 });
    // A second API process: same database, Redis and queue prefix, its own memory.
    const container = createContainer(first.config, createLogger(first.config, 'second-api'));
    const second = await buildApp({ container, logger: createLogger(first.config, 'second-api') });
    try {
      const secondUrl = await second.listen({ host: '127.0.0.1', port: 0 });
      const good = await first.key('operator', 'VI');
      const get = (url: string, key: string) =>
        fetch(`${url}/v1/batches`, { headers: { authorization: `Bearer ${key}` } });
      expect((await get(first.url, 'ssk_wrong-1')).status).toBe(401);
      expect((await get(first.url, 'ssk_wrong-2')).status).toBe(401);
      // Counted alone, this would be the second process's first failure.
      expect((await get(secondUrl, 'ssk_wrong-3')).status).toBe(401);
      const blocked = await get(secondUrl, 'ssk_wrong-4');
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await get(secondUrl, good)).status).toBe(200);
      // The first process learns of it at the address's next failure there, and refuses with 429 from then on.
      expect((await get(first.url, 'ssk_wrong-5')).status).toBe(401);
      expect((await get(first.url, 'ssk_wrong-6')).status).toBe(429);
      expect((await get(first.url, good)).status).toBe(200);
    } finally {
      await second.close();
      await container.close();
      await first.close();
    }
  });
});

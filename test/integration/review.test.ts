import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecluster } from '../../src/cli/recluster.js';
import { createLogger } from '../../src/logger.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { startWorkers } from '../helpers/in-process-workers.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
const keys: Record<string, string> = {};
let workers: { close(): Promise<void> } | undefined;
const logger = createLogger({ logLevel: 'silent' });

interface ClusterItem {
  id: number;
  size: number;
  reasons: string[];
  score: number;
  operators: string[];
  lsas: string[];
  pending: number;
}
interface ClusterList {
  items: ClusterItem[];
  total: number;
  next_cursor: string | null;
}
interface Candidate {
  msisdn: string;
  operator: string;
  status: string;
  decisionReason: string | null;
  decidedBy: string | null;
  source: string;
}
interface ClusterDetail {
  id: number;
  members: { faceId: number; msisdn: string; operator: string; name: string; photoUrl: string }[];
  distances: (number | null)[][];
  threshold: number;
  nameSimilarity: number[][];
  explanations: { reason: string; text: string }[];
  candidates: Candidate[];
}
interface ExportRecord {
  id: number;
  operator: string;
  rowCount: number;
  csvSha256: string;
  jsonSha256: string;
}

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  auth: { key?: string; cookie?: string; csrf?: string },
  body?: unknown,
): Promise<{ status: number; body: T; headers: Headers; raw: Buffer }> {
  const headers: Record<string, string> = {};
  if (auth.key) headers.authorization = `Bearer ${auth.key}`;
  if (auth.cookie) headers.cookie = auth.cookie;
  if (auth.csrf) headers['x-csrf-token'] = auth.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${env.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = Buffer.from(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? '';
  const parsed = type.includes('json') && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as T) : ({} as T);
  return { status: response.status, body: parsed, headers: response.headers, raw };
}

const analyst = () => ({ key: keys.analyst! });

beforeAll(async () => {
  env = await createTestEnv();
  Object.assign(keys, await env.keys(['JIO', 'AIRTEL', 'VI'], ['analyst', 'admin']));
  workers = await startWorkers(env.config, logger);
  // Ring A: one face under three names, two at JIO and one at AIRTEL. Ring B: another face, two names at JIO.
  await uploadPhotos(env.url, keys.jio!, [await portrait(1, 0, 0), await portrait(1, 0, 1)], 1);
  await uploadPhotos(env.url, keys.airtel!, [await portrait(1, 0, 2), await portrait(6, 1, 0)], 100);
  await uploadPhotos(env.url, keys.jio!, [await portrait(3, 0, 0), await portrait(3, 0, 1)], 10);
  await waitFor(
    async () => {
      const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&status=pending', analyst());
      return list.body.total === 2 && list.body.items.every((c) => c.pending === c.size) ? true : undefined;
    },
    120_000,
    'two flagged rings with their candidates',
  );
}, 180_000);

afterAll(async () => {
  await workers?.close();
  await env?.close();
});

describe('the review queue', () => {
  it('filters flagged clusters by operator, LSA and status, sorts them and pages with a cursor', async () => {
    const all = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size&order=desc', analyst());
    expect(all.status).toBe(200);
    expect(all.body.items.map((c) => c.size)).toEqual([3, 2]);
    const [ringA, ringB] = all.body.items as [ClusterItem, ClusterItem];
    expect(ringA.operators).toEqual(['AIRTEL', 'JIO']);
    expect(ringB.operators).toEqual(['JIO']);
    expect(ringA.score).toBeGreaterThan(0.5);

    const airtel = await call<ClusterList>('GET', '/v1/clusters?flagged=true&operator=AIRTEL', analyst());
    expect(airtel.body.items.map((c) => c.id)).toEqual([ringA.id]);
    expect(airtel.body.total).toBe(1);
    const lsa = ringB.lsas[0]!;
    const inLsa = await call<ClusterList>('GET', `/v1/clusters?flagged=true&lsa=${lsa}`, analyst());
    expect(inLsa.body.items.map((c) => c.id)).toContain(ringB.id);
    for (const cluster of inLsa.body.items) expect(cluster.lsas).toContain(lsa);
    expect((await call<ClusterList>('GET', '/v1/clusters?flagged=true&lsa=ZZ', analyst())).body.total).toBe(0);
    expect((await call<ClusterList>('GET', '/v1/clusters?status=confirmed', analyst())).body.total).toBe(0);

    const first = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size&limit=1', analyst());
    expect(first.body.items.map((c) => c.id)).toEqual([ringA.id]);
    expect(first.body.total).toBe(2);
    const second = await call<ClusterList>(
      'GET',
      `/v1/clusters?flagged=true&sort=size&limit=1&cursor=${first.body.next_cursor}`,
      analyst(),
    );
    expect(second.body.items.map((c) => c.id)).toEqual([ringB.id]);
    expect(second.body.next_cursor).toBeNull();
    const wrongSort = await call(
      'GET',
      `/v1/clusters?flagged=true&sort=score&limit=1&cursor=${first.body.next_cursor}`,
      analyst(),
    );
    expect(wrongSort).toMatchObject({ status: 400, body: { code: 'invalid_cursor' } });
    expect((await call('GET', '/v1/clusters?sort=colour', analyst())).status).toBe(400);

    // Operators see only clusters holding their own records, and only their own numbers' statuses.
    const vi = await call<ClusterList>('GET', '/v1/clusters?flagged=true', { key: keys.vi! });
    expect(vi.body).toMatchObject({ items: [], total: 0 });
    const airtelView = await call<ClusterList>('GET', '/v1/clusters?flagged=true', { key: keys.airtel! });
    expect(airtelView.body.items).toEqual([
      expect.objectContaining({ id: ringA.id, operators: ['AIRTEL'], pending: 1 }),
    ]);
  });

  it('shows a cluster with its distance and name matrices, explanations, candidates and original photos', async () => {
    const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size', analyst());
    const ringA = list.body.items[0]!;
    const detail = await call<ClusterDetail>('GET', `/v1/clusters/${ringA.id}`, analyst());
    expect(detail.status).toBe(200);
    const { members, distances, nameSimilarity, threshold } = detail.body;
    expect(members).toHaveLength(3);
    expect(distances).toHaveLength(3);
    distances.forEach((row, i) => {
      expect(row[i]).toBe(0);
      row.forEach((d, j) => {
        expect(d).toBe(distances[j]![i]);
        expect(d!).toBeLessThan(threshold);
      });
    });
    // Three different names on one face: the name matrix says they do not match.
    expect(nameSimilarity[0]![1]!).toBeLessThan(0.85);
    expect(detail.body.explanations.map((e) => e.reason)).toContain('MULTI_IDENTITY_FACE');
    expect(detail.body.explanations[0]!.text).toMatch(/3 different identities/);
    expect(detail.body.candidates.map((c) => c.status)).toEqual(['pending', 'pending', 'pending']);

    const photo = await call('GET', members[0]!.photoUrl, analyst());
    expect(photo.status).toBe(200);
    expect(photo.headers.get('content-type')).toBe('image/jpeg');
    expect(photo.raw.subarray(0, 2).toString('hex')).toBe('ffd8');
    const jioMember = members.find((m) => m.operator === 'JIO')!;
    expect((await call('GET', jioMember.photoUrl, { key: keys.airtel! })).status).toBe(404);
    expect((await call('GET', jioMember.photoUrl, { key: keys.jio! })).status).toBe(200);

    // An operator sees its own members of a shared cluster, their count, and the reasons in words; not the other
    // operators' count nor the raw evidence, which names their records.
    const own = members.filter((m) => m.operator === 'JIO').length;
    expect(own).toBeLessThan(members.length);
    const jioView = await call<ClusterDetail & { size: number; evidence: unknown }>(
      'GET',
      `/v1/clusters/${detail.body.id}`,
      { key: keys.jio! },
    );
    expect(jioView.body).toMatchObject({ size: own, evidence: {} });
    expect(jioView.body.members).toHaveLength(own);
    expect(jioView.body.explanations.map((e) => e.reason)).toContain('MULTI_IDENTITY_FACE');
    const jioList = await call<{ items: { id: number; size: number; evidence: unknown }[] }>(
      'GET',
      '/v1/clusters?flagged=true',
      { key: keys.jio! },
    );
    expect(jioList.body.items.find((item) => item.id === detail.body.id)).toMatchObject({ size: own, evidence: {} });
  });
});

describe('decisions', () => {
  it('dismisses, keeps within the cap and confirms, refusing bad requests and other roles', async () => {
    const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size', analyst());
    const [ringA, ringB] = list.body.items as [ClusterItem, ClusterItem];
    const path = (id: number) => `/v1/clusters/${id}/decisions`;

    expect(await call('POST', path(ringB.id), { key: keys.jio! }, { action: 'confirm' })).toMatchObject({
      status: 403,
    });
    expect(await call('POST', path(ringB.id), analyst(), { action: 'dismiss' })).toMatchObject({ status: 400 });
    expect(
      await call('POST', path(ringB.id), analyst(), { action: 'confirm', msisdns: ['+919999999999'] }),
    ).toMatchObject({ status: 400, body: { code: 'unknown_msisdn' } });
    expect(await call('POST', path(999_999), analyst(), { action: 'confirm' })).toMatchObject({ status: 404 });

    // A note is kept in the audit log for good: it may not hold a phone or document number.
    expect(
      await call('POST', path(ringB.id), analyst(), {
        action: 'dismiss',
        reason: 'different_people',
        note: 'brother, phone 9876543210',
      }),
    ).toMatchObject({ status: 400, body: { code: 'note_contains_identifier' } });
    const dismissed = await call<{ status: string; cluster: ClusterDetail }>('POST', path(ringB.id), analyst(), {
      action: 'dismiss',
      reason: 'different_people',
      note: 'twins, checked by phone',
    });
    expect(dismissed.status).toBe(200);
    for (const candidate of dismissed.body.cluster.candidates) {
      expect(candidate).toMatchObject({ status: 'dismissed', decisionReason: 'different_people' });
      expect(candidate.decidedBy).toMatch(/^key:\d+$/);
    }
    expect((await call<ClusterList>('GET', '/v1/clusters?status=pending', analyst())).body.total).toBe(1);

    // The subscriber keeps one JIO number; the other two become confirmed block candidates.
    const detail = await call<ClusterDetail>('GET', `/v1/clusters/${ringA.id}`, analyst());
    const kept = detail.body.members.find((m) => m.operator === 'JIO')!.msisdn;
    const keep = await call<{ cluster: ClusterDetail }>('POST', path(ringA.id), analyst(), {
      action: 'keep',
      keep: [kept],
      source: 'law_enforcement',
    });
    expect(keep.status).toBe(200);
    const statuses = Object.fromEntries(keep.body.cluster.candidates.map((c) => [c.msisdn, c]));
    expect(statuses[kept]).toMatchObject({ status: 'dismissed', decisionReason: 'kept_within_cap' });
    const confirmed = keep.body.cluster.candidates.filter((c) => c.status === 'confirmed');
    expect(confirmed.map((c) => c.operator).sort()).toEqual(['AIRTEL', 'JIO']);
    for (const candidate of confirmed) expect(candidate.source).toBe('law_enforcement');
    expect((await call<ClusterList>('GET', '/v1/clusters?status=pending', analyst())).body.total).toBe(0);
    expect((await call<ClusterList>('GET', '/v1/clusters?status=confirmed', analyst())).body.total).toBe(1);
  });
});

describe('review UI sessions', () => {
  it('signs an analyst in with an httpOnly cookie, demands the CSRF token on changes, and signs out', async () => {
    expect(await call('POST', '/v1/session', {}, { key: keys.jio })).toMatchObject({ status: 403 });
    expect(await call('POST', '/v1/session', {}, { key: 'ssk_nope' })).toMatchObject({
      status: 401,
      body: { code: 'invalid_api_key' },
    });
    const signIn = await call<{ role: string; csrfToken: string }>('POST', '/v1/session', {}, { key: keys.analyst });
    expect(signIn.status).toBe(200);
    const setCookie = signIn.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    expect(signIn.body.role).toBe('analyst');

    expect((await call<ClusterList>('GET', '/v1/clusters?flagged=true', { cookie })).status).toBe(200);
    const session = await call<{ csrfToken: string }>('GET', '/v1/session', { cookie });
    expect(session.body.csrfToken).toBe(signIn.body.csrfToken);
    const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size', { cookie });
    const ringB = list.body.items[1]!;
    const body = { action: 'dismiss', reason: 'bad_photo' };
    expect(await call('POST', `/v1/clusters/${ringB.id}/decisions`, { cookie }, body)).toMatchObject({
      status: 403,
      body: { code: 'csrf_token_invalid' },
    });
    expect(await call('POST', `/v1/clusters/${ringB.id}/decisions`, { cookie, csrf: 'forged' }, body)).toMatchObject({
      status: 403,
    });
    expect(
      (await call('POST', `/v1/clusters/${ringB.id}/decisions`, { cookie, csrf: signIn.body.csrfToken }, body)).status,
    ).toBe(200);

    expect((await call('DELETE', '/v1/session', { cookie, csrf: signIn.body.csrfToken })).status).toBe(204);
    expect(await call('GET', '/v1/clusters', { cookie })).toMatchObject({
      status: 401,
      body: { code: 'session_expired' },
    });
  });

  it('ends every session of a key when the key is revoked', async () => {
    const key = await env.key('analyst');
    const signIn = await call<{ csrfToken: string }>('POST', '/v1/session', {}, { key });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('GET', '/v1/clusters', { cookie })).status).toBe(200);
    const keyId = (await env.container.auth.authenticate(key))!.keyId;
    expect((await call('DELETE', `/v1/keys/${keyId}`, { key: keys.admin! })).status).toBe(204);
    expect((await call('GET', '/v1/clusters', { cookie })).status).toBe(401);
  });
});

describe('block-list exports and re-verification', () => {
  it('exports confirmed numbers once per operator with checksums, scoped downloads and due dates', async () => {
    expect(await call('POST', '/v1/exports', { key: keys.jio! }, { operator: 'JIO' })).toMatchObject({
      status: 403,
    });
    expect(await call('POST', '/v1/exports', analyst(), { operator: 'NOPE' })).toMatchObject({ status: 404 });

    const created = await call<ExportRecord>('POST', '/v1/exports', analyst(), { operator: 'JIO' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ operator: 'JIO', rowCount: 1 });

    const csv = await call('GET', `/v1/exports/${created.body.id}/download?format=csv`, { key: keys.jio! });
    expect(csv.status).toBe(200);
    expect(createHash('sha256').update(csv.raw).digest('hex')).toBe(created.body.csvSha256);
    const [header, row, ...rest] = csv.raw.toString('utf8').trim().split('\n');
    expect(rest).toEqual([]);
    expect(header).toBe(
      'msisdn,operator,lsa,reasons,cluster_id,status,source,decided_at,decided_by,outgoing_barred_by,incoming_barred_by,disconnect_by',
    );
    const fields = row!.split(',');
    const decided = Date.parse(fields[7]!);
    const day = (n: number) => new Date(decided + n * 86_400_000).toISOString().slice(0, 10);
    // A law-enforcement case: barred in 5 and 10 days, disconnected in 15.
    expect(fields.slice(-3)).toEqual([day(5), day(10), day(15)]);
    expect(fields[1]).toBe('JIO');
    expect(fields[5]).toBe('exported');

    const json = await call<{ rows: { msisdn: string }[]; audit_head: { seq: number; hash: string } }>(
      'GET',
      `/v1/exports/${created.body.id}/download?format=json`,
      analyst(),
    );
    expect(createHash('sha256').update(json.raw).digest('hex')).toBe(created.body.jsonSha256);
    expect(json.body.rows.map((r) => r.msisdn)).toEqual([fields[0]]);
    // The audit chain's end as of the export travels with it: the row at that seq must keep that hash.
    const anchored = await env.container.pool.query<{ hash: string }>(
      "SELECT encode(hash, 'hex') AS hash FROM audit_log WHERE seq = $1::bigint",
      [json.body.audit_head.seq],
    );
    expect(json.body.audit_head.seq).toBeGreaterThan(0);
    expect(anchored.rows[0]!.hash).toBe(json.body.audit_head.hash);

    // Another operator cannot see or download it; the next export is empty unless asked for a full one.
    expect((await call('GET', `/v1/exports/${created.body.id}/download`, { key: keys.airtel! })).status).toBe(404);
    expect((await call<{ items: ExportRecord[] }>('GET', '/v1/exports', { key: keys.airtel! })).body.items).toEqual([]);
    expect((await call<ExportRecord>('POST', '/v1/exports', analyst(), { operator: 'JIO' })).body.rowCount).toBe(0);
    expect(
      (await call<ExportRecord>('POST', '/v1/exports', analyst(), { operator: 'JIO', full: true })).body.rowCount,
    ).toBe(1);
    const candidates = await call<{ items: Candidate[] }>('GET', '/v1/block-candidates?status=exported', analyst());
    expect(candidates.body.items.map((c) => c.msisdn)).toEqual([fields[0]]);

    // JIO reports the outcome of re-verification for its number; unknown numbers are listed back.
    const feedback = await call(
      'POST',
      '/v1/reverifications',
      { key: keys.jio! },
      {
        items: [
          { msisdn: fields[0], outcome: 'disconnected' },
          { msisdn: '+919000000001', outcome: 'kept' },
        ],
      },
    );
    expect(feedback).toMatchObject({ status: 200, body: { updated: 1, unknown: ['+919000000001'] } });
    expect(
      await call('POST', '/v1/reverifications', analyst(), { items: [{ msisdn: fields[0], outcome: 'kept' }] }),
    ).toMatchObject({ status: 403 });
  });

  it('leaves an audit trail of every decision, export and re-verification that verifies', async () => {
    const actions = await env.container.pool.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq');
    const seen = new Set(actions.rows.map((r) => r.action));
    for (const action of [
      'cluster.dismiss',
      'cluster.keep',
      'session.create',
      'export.create',
      'reverification.record',
      'api_key.revoke',
    ]) {
      expect(seen).toContain(action);
    }
    expect((await env.container.auditChain.verify()).ok).toBe(true);
    // The log is append-only and can never be erased: it names records by id, never by number.
    const rows = await env.container.pool.query<{ row: string }>(
      "SELECT details::text || coalesce(before::text, '') || coalesce(after::text, '') AS row FROM audit_log",
    );
    const numbers = await env.container.pool.query<{ msisdn: string }>('SELECT msisdn FROM kyc_records');
    expect(numbers.rows.length).toBeGreaterThan(0);
    for (const { msisdn } of numbers.rows) {
      expect(rows.rows.filter((r) => r.row.includes(msisdn.slice(-10)))).toEqual([]);
    }
  });
});

describe('split and merge', () => {
  it('splits a face off into its own cluster, refuses to merge it back, and merges other clusters', async () => {
    const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size', analyst());
    const [ringA, ringB] = list.body.items as [ClusterItem, ClusterItem];
    const detail = await call<ClusterDetail>('GET', `/v1/clusters/${ringA.id}`, analyst());
    const airtel = detail.body.members.find((m) => m.operator === 'AIRTEL')!;
    const path = (id: number) => `/v1/clusters/${id}/decisions`;

    expect(await call('POST', path(ringA.id), analyst(), { action: 'split', faceIds: [123_456] })).toMatchObject({
      status: 400,
      body: { code: 'unknown_face' },
    });
    const everyone = detail.body.members.map((m) => m.faceId);
    expect(await call('POST', path(ringA.id), analyst(), { action: 'split', faceIds: everyone })).toMatchObject({
      status: 400,
      body: { code: 'invalid_split' },
    });
    const split = await call('POST', path(ringA.id), analyst(), { action: 'split', faceIds: [airtel.faceId] });
    expect(split).toMatchObject({ status: 202, body: { status: 'recomputing' } });

    const clusterOfFace = async (faceId: number) =>
      (
        await env.container.pool.query<{ id: number }>(
          'SELECT cluster_id AS id FROM cluster_members WHERE face_id = $1::bigint',
          [faceId],
        )
      ).rows[0]!.id;
    const splitOff = await waitFor(
      async () => {
        const id = await clusterOfFace(airtel.faceId);
        return id !== ringA.id ? id : undefined;
      },
      30_000,
      'the split',
    );
    const remaining = await waitFor(
      async () => {
        const after = await call<ClusterDetail>('GET', `/v1/clusters/${ringA.id}`, analyst());
        return after.body.members.length === 2 ? after : undefined;
      },
      30_000,
      'ring A to shrink',
    );
    expect(remaining.body.members.map((m) => m.operator)).toEqual(['JIO', 'JIO']);
    // The AIRTEL number's confirmed decision stays on record with ring A; a face alone is not flagged.
    expect(remaining.body.candidates.map((c) => c.operator).sort()).toEqual(['AIRTEL', 'JIO', 'JIO']);
    const alone = await call<ClusterDetail & { flagged: boolean }>('GET', `/v1/clusters/${splitOff}`, analyst());
    expect(alone.body.members.map((m) => m.faceId)).toEqual([airtel.faceId]);

    // Merging it back would undo the analyst's split.
    expect(await call('POST', path(ringA.id), analyst(), { action: 'merge', otherClusterId: splitOff })).toMatchObject({
      status: 409,
      body: { code: 'constraint_conflict' },
    });
    expect(await call('POST', path(ringA.id), analyst(), { action: 'merge', otherClusterId: ringA.id })).toMatchObject({
      status: 400,
    });
    // Ring B and the split-off face: the analyst says they are one person.
    const merge = await call('POST', path(ringB.id), analyst(), { action: 'merge', otherClusterId: splitOff });
    expect(merge.status).toBe(202);
    await waitFor(
      async () => ((await clusterOfFace(airtel.faceId)) === Math.min(ringB.id, splitOff) ? true : undefined),
      30_000,
      'the merge',
    );
    const events = await env.container.pool.query<{ kind: string }>(
      "SELECT kind FROM cluster_events WHERE kind IN ('split', 'merged')",
    );
    expect(events.rows.map((e) => e.kind).sort()).toEqual(['merged', 'split']);
    const audit = await env.container.pool.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE action IN ('cluster.split', 'cluster.merge') ORDER BY seq",
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['cluster.split', 'cluster.merge']);
  });
});

describe('simsift recluster --apply', () => {
  it("puts a stray face back with its person, keeps the analysts' constraints, and judges again", async () => {
    const pool = env.container.pool;
    const list = await call<ClusterList>('GET', '/v1/clusters?flagged=true&sort=size', analyst());
    const ring = list.body.items.find((c) => c.operators.join() === 'JIO' && c.size === 2)!;
    const members = (await call<ClusterDetail>('GET', `/v1/clusters/${ring.id}`, analyst())).body.members;
    // An order-dependent incremental result, made by hand: one of the ring's faces alone in a new cluster.
    const stray = members[1]!.faceId;
    await pool.query("INSERT INTO clusters (id, embedder) VALUES (9000, 'face_recognition')");
    await pool.query('UPDATE cluster_members SET cluster_id = 9000 WHERE face_id = $1::bigint', [stray]);
    await pool.query('UPDATE clusters SET size = 1 WHERE id = $1::bigint', [ring.id]);
    const before = await pool.query<{ cluster_id: number }>(
      'SELECT face_id, cluster_id FROM cluster_members ORDER BY face_id',
    );

    const result = await runRecluster(env.config, { apply: true });
    expect(result.applied).toMatchObject({ movedFaces: 1 });
    expect(result.agreement).toBeLessThan(1);
    const after = await pool.query<{ face_id: number; cluster_id: number }>(
      'SELECT face_id, cluster_id FROM cluster_members ORDER BY face_id',
    );
    const clusterOf = new Map(after.rows.map((r) => [r.face_id, r.cluster_id]));
    expect(clusterOf.get(stray)).toBe(ring.id);
    expect(after.rows.filter((r, i) => r.cluster_id !== before.rows[i]!.cluster_id)).toHaveLength(1);
    expect((await pool.query('SELECT 1 FROM clusters WHERE id = 9000')).rowCount).toBe(0);
    // Judged again: the stored size and verdict follow the new membership.
    const judged = await pool.query<{ size: number; flagged: boolean }>(
      'SELECT size, flagged FROM clusters WHERE id = $1::bigint',
      [ring.id],
    );
    expect(judged.rows[0]).toEqual({ size: 2, flagged: true });
    // Every cannot-link pair is still apart, every must-link pair together.
    const constraints = await pool.query<{ kind: string; face_a: number; face_b: number }>(
      'SELECT kind, face_a, face_b FROM cluster_constraints',
    );
    for (const c of constraints.rows) {
      expect(clusterOf.get(c.face_a) === clusterOf.get(c.face_b)).toBe(c.kind === 'must_link');
    }
    const again = await runRecluster(env.config, { apply: true });
    expect(again).toMatchObject({ agreement: 1, applied: { movedFaces: 0 } });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterService, runClusterWorker } from '../../workers/cluster-worker-runtime.js';
import { runFaceWorker } from '../../workers/face-worker-runtime.js';
import { createLogger } from '../../src/logger.js';
import { portrait } from '../../src/demo/sample-portraits.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos, waitFor } from '../helpers/upload.js';

let env: TestEnv;
const keys: Record<string, string> = {};
const stoppers: (() => Promise<void>)[] = [];
const logger = createLogger({ logLevel: 'silent' });

beforeAll(async () => {
  env = await createTestEnv();
  Object.assign(keys, await env.keys(['JIO', 'AIRTEL', 'VI'], ['analyst']));
  const faces = await runFaceWorker(env.config, logger);
  stoppers.push(() => faces.close());
});

afterAll(async () => {
  for (const stop of stoppers.reverse()) await stop();
  await env?.close();
});

async function get(path: string, key: string) {
  const response = await fetch(`${env.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, type: response.headers.get('content-type'), body: response };
}

async function json<T>(path: string, key: string): Promise<{ status: number; body: T }> {
  const response = await get(path, key);
  return { status: response.status, body: (await response.body.json()) as T };
}

const clusteredFaces = () => env.count('cluster_members');

/** Clusters whose stored size lags their members: the verdict of the last change is not written yet. */
const pendingVerdicts = () =>
  env.count('clusters c WHERE c.size <> (SELECT count(*) FROM cluster_members m WHERE m.cluster_id = c.id)');

interface ClusterList {
  items: { id: number; size: number; reasons: string[]; flagged: boolean; evidence: { identities: number } }[];
}
interface ClusterDetail {
  id: number;
  reasons: string[];
  members: { faceId: number; operator: string; name: string; idMasked: string; thumbnailUrl: string }[];
}

describe('clustering a planted ring across operators', () => {
  it('flags one face under three names at two operators, and shows each operator only its own numbers', async () => {
    let clusterWorker = await runClusterWorker(env.config, logger);
    stoppers.push(() => clusterWorker.close());
    // One person (sample1, face 0) as three subscribers: two at JIO, one at AIRTEL; two other people alone.
    await uploadPhotos(
      env.url,
      keys.jio!,
      [await portrait(1, 0, 0), await portrait(1, 0, 1), await portrait(3, 1, 0)],
      1,
    );
    await uploadPhotos(env.url, keys.airtel!, [await portrait(1, 0, 2), await portrait(6, 1, 0)], 100);
    await waitFor(async () => ((await clusteredFaces()) === 5 ? true : undefined), 90_000, 'five clustered faces');
    await waitFor(async () => ((await pendingVerdicts()) === 0 ? true : undefined), 30_000, 'the verdicts');

    const flagged = await json<ClusterList>('/v1/clusters?flagged=true', keys.analyst!);
    expect(flagged.status).toBe(200);
    expect(flagged.body.items).toHaveLength(1);
    const ring = flagged.body.items[0]!;
    // The three photos are one picture rescaled and re-lit: the photo hash sees the reuse as well.
    expect(ring).toMatchObject({
      size: 3,
      flagged: true,
      reasons: ['MULTI_IDENTITY_FACE', 'PHOTO_REUSE'],
      evidence: { identities: 3 },
    });
    expect((await json<ClusterList>('/v1/clusters?flagged=false', keys.analyst!)).body.items).toHaveLength(2);

    // One block candidate per number in the flagged cluster, pending review; operators see only their own.
    interface Candidates {
      items: {
        clusterId: number;
        msisdn: string;
        operator: string;
        status: string;
        reasons: string[];
        score: number;
      }[];
    }
    const candidates = await json<Candidates>('/v1/block-candidates?status=pending', keys.analyst!);
    expect(candidates.body.items).toHaveLength(3);
    for (const candidate of candidates.body.items) {
      expect(candidate).toMatchObject({
        clusterId: ring.id,
        status: 'pending',
        reasons: ['MULTI_IDENTITY_FACE', 'PHOTO_REUSE'],
      });
      expect(candidate.score).toBeGreaterThan(0.5);
    }
    const jioCandidates = await json<Candidates>('/v1/block-candidates', keys.jio!);
    expect(jioCandidates.body.items.map((c) => c.operator)).toEqual(['JIO', 'JIO']);
    expect((await json<Candidates>('/v1/block-candidates', keys.vi!)).body.items).toEqual([]);
    // An analyst's decision survives the cluster changing later (checked after the next face joins).
    await env.container.pool.query(`UPDATE block_candidates SET status = 'confirmed' WHERE msisdn = $1::text`, [
      candidates.body.items[0]!.msisdn,
    ]);

    // PoS agents ranked by the share of their enrolments in flagged clusters; operators see their own.
    interface Agents {
      items: { operator: string; posAgentId: string; enrolments: number; flaggedEnrolments: number; risk: number }[];
    }
    const agents = await json<Agents>('/v1/agents?sort=risk', keys.analyst!);
    expect(agents.status).toBe(200);
    const risks = agents.body.items.map((a) => a.risk);
    expect(risks).toEqual([...risks].sort((a, b) => b - a));
    expect(agents.body.items.reduce((n, a) => n + a.flaggedEnrolments, 0)).toBe(3);
    expect(agents.body.items.reduce((n, a) => n + a.enrolments, 0)).toBe(5);
    expect(agents.body.items[0]!.risk).toBeGreaterThan(0);
    const jioAgents = await json<Agents>('/v1/agents', keys.jio!);
    expect(new Set(jioAgents.body.items.map((a) => a.operator))).toEqual(new Set(['JIO']));

    const detail = await json<ClusterDetail>(`/v1/clusters/${ring.id}`, keys.analyst!);
    expect(detail.body.members.map((m) => m.operator).sort()).toEqual(['AIRTEL', 'JIO', 'JIO']);
    expect(new Set(detail.body.members.map((m) => m.name)).size).toBe(3);
    for (const member of detail.body.members) expect(member.idMasked).toMatch(/^X{8}\d{4}$/);

    const jioView = await json<ClusterDetail>(`/v1/clusters/${ring.id}`, keys.jio!);
    expect(jioView.body.members.map((m) => m.operator)).toEqual(['JIO', 'JIO']);
    const airtelView = await json<ClusterDetail>(`/v1/clusters/${ring.id}`, keys.airtel!);
    expect(airtelView.body.members.map((m) => m.operator)).toEqual(['AIRTEL']);
    expect((await json(`/v1/clusters/${ring.id}`, keys.vi!)).status).toBe(404);
    expect((await json<ClusterList>('/v1/clusters?flagged=true', keys.vi!)).body.items).toEqual([]);

    const thumbnail = await get(detail.body.members[0]!.thumbnailUrl, keys.analyst!);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.type).toBe('image/jpeg');
    expect(
      Buffer.from(await thumbnail.body.arrayBuffer())
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('ffd8');
    expect((await get(detail.body.members[0]!.thumbnailUrl, keys.vi!)).status).toBe(404);

    // The index can be dropped: a new cluster worker rebuilds it from Postgres and keeps clustering into it.
    await clusterWorker.close();
    stoppers.pop();
    clusterWorker = await runClusterWorker(env.config, logger);
    stoppers.push(() => clusterWorker.close());
    await uploadPhotos(env.url, keys.jio!, [await portrait(1, 0, 3)], 200);
    await waitFor(async () => ((await clusteredFaces()) === 6 ? true : undefined), 90_000, 'the sixth face');
    // Membership commits first and the verdict right after it: wait for the verdict, then check it.
    const after = await waitFor(
      async () => {
        const list = await json<ClusterList>('/v1/clusters?flagged=true', keys.analyst!);
        return list.body.items[0]?.size === 4 ? list : undefined;
      },
      30_000,
      'the ring to count four faces',
    );
    expect(after.body.items).toEqual([expect.objectContaining({ id: ring.id, size: 4 })]);
    const afterJoin = await json<Candidates>('/v1/block-candidates', keys.analyst!);
    expect(afterJoin.body.items).toHaveLength(4);
    expect(afterJoin.body.items.filter((c) => c.status === 'confirmed').map((c) => c.msisdn)).toEqual([
      candidates.body.items[0]!.msisdn,
    ]);
    // Subscriber 1's Aadhaar again, with another person's face: both clusters now show the document reuse.
    await uploadPhotos(env.url, keys.jio!, [await portrait(5, 1, 0)], 1);
    await waitFor(async () => ((await clusteredFaces()) === 7 ? true : undefined), 90_000, 'the seventh face');
    const reuse = await waitFor(
      async () => {
        const list = await json<ClusterList>('/v1/clusters?reason=DOCUMENT_REUSE', keys.analyst!);
        return list.body.items.length === 2 ? list : undefined;
      },
      30_000,
      'the document reuse on both faces',
    );
    expect(reuse.body.items.map((c) => c.id)).toContain(ring.id);
    expect(reuse.body.items.find((c) => c.id !== ring.id)).toMatchObject({ size: 1, reasons: ['DOCUMENT_REUSE'] });

    // A batch recluster of the stored faces agrees with the incremental clusters.
    const service = await createClusterService(env.config, env.container.pool);
    expect(await service.compareWithRecluster()).toEqual({
      faces: 7,
      incrementalClusters: 4,
      reclusterClusters: 4,
      agreement: 1,
    });
    const events = await env.container.pool.query<{ kind: string }>('SELECT kind FROM cluster_events ORDER BY id');
    expect(events.rows.filter((e) => e.kind === 'created')).toHaveLength(4);
    expect(events.rows.filter((e) => e.kind === 'joined')).toHaveLength(3);
  }, 240_000);
});

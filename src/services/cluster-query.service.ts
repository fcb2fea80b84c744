import type { Readable } from 'node:stream';
import type {
  AgentEnrolment,
  AgentRisk,
  BlockCandidate,
  ClusterCursor,
  ClusterFilter,
  ClusterMember,
  ClusterSort,
  ClusterListItem,
  ClusterSortKey,
  ClusterSummary,
} from '../repositories/cluster-read.repository.js';
import type { CandidateView } from '../repositories/review.repository.js';
import type { PhotoMimeType } from '../repositories/file-store.repository.js';
import type { Metric } from './clustering/face-clusterer.js';
import { faceDistance } from './face-distance.js';
import { nameSimilarity } from './fraud-rules.js';
import type { Principal } from './auth.service.js';
import { AppError, notFound } from './errors.js';

/** The data dir's files, as the read side needs them (FileStore). */
export interface StoredFiles {
  photoPath(sha256: Buffer, mimeType: PhotoMimeType): string;
  resolve(relative: string): string;
  openForReading(file: string): Promise<Readable | null>;
}

export interface ClusterReader {
  list(
    filter: ClusterFilter,
    sort: ClusterSort,
    after: ClusterCursor | null,
    limit: number,
  ): Promise<{ rows: (ClusterListItem & { sortValue: string })[]; total: number }>;
  find(clusterId: number): Promise<ClusterSummary | null>;
  members(clusterId: number, operatorId: number | null): Promise<ClusterMember[]>;
  thumbnailPath(faceId: number, operatorId: number | null): Promise<string | null>;
  photoOf(
    faceId: number,
    operatorId: number | null,
  ): Promise<{ sha256: Buffer; mimeType: string; purged: boolean } | null>;
  agentsByRisk(operatorId: number | null, limit: number): Promise<AgentRisk[]>;
  agentEnrolments(
    operatorCode: string,
    posAgentId: string,
    operatorId: number | null,
    limit: number,
  ): Promise<AgentEnrolment[]>;
  listBlockCandidates(options: {
    status: string | null;
    reason: string | null;
    operatorId: number | null;
    afterId: number | null;
    limit: number;
  }): Promise<BlockCandidate[]>;
}

export interface CandidateReader {
  candidates(clusterId: number, operatorId: number | null): Promise<CandidateView[]>;
  embeddings(faceIds: readonly number[]): Promise<Map<number, Float32Array>>;
}

/** The embedder's distance and same-person threshold, for the analyst's distance matrix. */
export interface FaceRules {
  metric: Metric;
  pairThreshold: number;
}

/** A finding as the cluster's evidence stores it (RulesService): its score and the parts it is built from. */
interface StoredFinding {
  reason: string;
  score: number;
  parts: { part: string; value: number; text: string }[];
}

/**
 * What each reason means, in words an analyst can check against the evidence on screen, with the score of the
 * strongest finding behind it and that score's parts (face evidence, identity conflict, context), each in words.
 */
export function explainReasons(
  reasons: readonly string[],
  evidence: { identities?: number; connections?: number; simCap?: number; findings?: StoredFinding[] },
) {
  const text: Record<string, string> = {
    MULTI_IDENTITY_FACE: `One face appears under ${evidence.identities ?? 'several'} different identities: the documents differ and the names or dates of birth do not match.`,
    SIM_CAP_EXCEEDED: `This subscriber holds ${evidence.connections ?? 'more'} connections; the cap in these service areas is ${evidence.simCap ?? 9}. A subscriber is one document plus every face confidently theirs, and each document is also counted on its own.`,
    DOCUMENT_REUSE:
      "An identity document in this cluster is also on a face that is confidently a different person (farther apart than one person's photos almost ever are).",
    PHOTO_REUSE: 'The same photograph (perceptual hash) is used for different identities.',
    NO_USABLE_FACE: 'The KYC photo shows no usable face, so the subscriber cannot be checked against anyone.',
  };
  return reasons.map((reason) => {
    const best = (evidence.findings ?? [])
      .filter((finding) => finding.reason === reason)
      .sort((a, b) => b.score - a.score)[0];
    return {
      reason,
      text: text[reason] ?? reason,
      ...(best ? { score: best.score, parts: best.parts.map(({ part, value, text }) => ({ part, value, text })) } : {}),
    };
  });
}

/** Keyset cursors here are the last row's id. */
function parseCursor(cursor: string | undefined): number | null {
  if (cursor === undefined) return null;
  const id = Number(cursor);
  if (!Number.isInteger(id)) throw new AppError(400, 'invalid_cursor', 'the cursor is not valid');
  return id;
}

/** The first `limit` rows of `limit + 1` fetched, and a cursor when there are more. */
function keysetPage<T extends { id: number }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  return { items, next_cursor: rows.length > limit ? String(items.at(-1)!.id) : null };
}

/** Cluster list cursors are opaque: base64url of the sort they belong to, the last row's sort value and id. */
function encodeClusterCursor(sort: ClusterSort, cursor: ClusterCursor): string {
  return Buffer.from(JSON.stringify([sort.key, sort.order, cursor.value, cursor.id])).toString('base64url');
}

function decodeClusterCursor(sort: ClusterSort, cursor: string | undefined): ClusterCursor | null {
  if (cursor === undefined) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = null;
  }
  if (!Array.isArray(parts) || parts.length !== 4) {
    throw new AppError(400, 'invalid_cursor', 'the cursor is not valid');
  }
  const [key, order, value, id] = parts as unknown[];
  if (key !== sort.key || order !== sort.order) {
    throw new AppError(400, 'invalid_cursor', 'the cursor belongs to another sort order');
  }
  if (typeof value !== 'string' || !Number.isSafeInteger(id)) {
    throw new AppError(400, 'invalid_cursor', 'the cursor is not valid');
  }
  return { value, id: id as number };
}

export interface ClusterListQuery {
  flagged?: boolean;
  reason?: string;
  operator?: string;
  lsa?: string;
  status?: string;
  min_size?: number;
  since?: string;
  sort?: ClusterSortKey;
  order?: 'asc' | 'desc';
  cursor?: string;
  limit: number;
}

const scope = (principal: Principal) => (principal.role === 'operator' ? principal.operatorId : null);

/**
 * A cluster as an operator may see it: the size is its own members', and the raw evidence (which names other
 * operators' records) is left out; the reasons stay, and their explanation in words (counts, not identities).
 */
function scoped<T extends { size: number; evidence: unknown }>(cluster: T, visibleSize: number): T {
  return { ...cluster, size: visibleSize, evidence: {} };
}

/**
 * Read side of face clusters. Analysts see everything; an operator sees only clusters that hold its own
 * records, and within them only its own records (another operator's subscribers stay hidden).
 */
export class ClusterQueryService {
  constructor(
    private readonly clusters: ClusterReader,
    private readonly review: CandidateReader,
    private readonly files: StoredFiles,
    private readonly faceRules: () => Promise<FaceRules>,
  ) {}

  /**
   * Clusters matching the filters, a page at a time, with the total that match (the queue's "left to review"
   * when filtered by `status=pending`). Default order: newest first.
   */
  async list(principal: Principal, query: ClusterListQuery) {
    const sort: ClusterSort = { key: query.sort ?? 'id', order: query.order ?? 'desc' };
    const after = decodeClusterCursor(sort, query.cursor);
    const { rows, total } = await this.clusters.list(
      {
        flagged: query.flagged ?? null,
        reason: query.reason ?? null,
        operatorCode: query.operator ?? null,
        lsa: query.lsa ?? null,
        status: query.status ?? null,
        minSize: query.min_size ?? null,
        updatedSince: query.since ?? null,
        scopeOperatorId: scope(principal),
      },
      sort,
      after,
      query.limit + 1,
    );
    const operator = scope(principal) !== null;
    const items = rows
      .slice(0, query.limit)
      .map(({ sortValue: _sortValue, visibleSize, ...cluster }) => (operator ? scoped(cluster, visibleSize) : cluster));
    const last = rows.length > query.limit ? rows[query.limit - 1]! : null;
    return {
      items,
      total,
      next_cursor: last ? encodeClusterCursor(sort, { value: last.sortValue, id: last.id }) : null,
    };
  }

  /** Block candidates; an operator sees only its own numbers. */
  async listBlockCandidates(
    principal: Principal,
    query: { status?: string; reason?: string; cursor?: string; limit: number },
  ) {
    const rows = await this.clusters.listBlockCandidates({
      status: query.status ?? null,
      reason: query.reason ?? null,
      operatorId: scope(principal),
      afterId: parseCursor(query.cursor),
      limit: query.limit + 1,
    });
    return keysetPage(rows, query.limit);
  }

  /** PoS agents ranked by risk; an operator sees only its own agents. */
  async agents(principal: Principal, limit: number) {
    return { items: await this.clusters.agentsByRisk(scope(principal), limit) };
  }

  /** A PoS agent's enrolments in flagged clusters; an operator sees only its own agents. */
  async agentEnrolments(principal: Principal, operatorCode: string, posAgentId: string, limit: number) {
    return {
      items: await this.clusters.agentEnrolments(operatorCode.toUpperCase(), posAgentId, scope(principal), limit),
    };
  }

  /**
   * One cluster for review: members side by side (masked documents only), their pairwise face distances and
   * name similarities, the reasons in plain words, and each number's block-candidate status.
   */
  async get(principal: Principal, clusterId: number) {
    const cluster = await this.clusters.find(clusterId);
    const members = cluster ? await this.clusters.members(clusterId, scope(principal)) : [];
    if (!cluster || members.length === 0) throw notFound('cluster');
    const [vectors, candidates, rules] = await Promise.all([
      this.review.embeddings(members.map((member) => member.faceId)),
      this.review.candidates(clusterId, scope(principal)),
      this.faceRules(),
    ]);
    const round = (value: number) => Math.round(value * 1000) / 1000;
    const distances = members.map((a) =>
      members.map((b) => {
        const va = vectors.get(a.faceId);
        const vb = vectors.get(b.faceId);
        return va && vb ? round(faceDistance(va, vb, rules.metric)) : null;
      }),
    );
    return {
      ...(scope(principal) === null ? cluster : scoped(cluster, members.length)),
      members: members.map((member) => ({
        ...member,
        thumbnailUrl: `/v1/faces/${member.faceId}/thumbnail`,
        photoUrl: `/v1/faces/${member.faceId}/photo`,
      })),
      distances,
      threshold: rules.pairThreshold,
      metric: rules.metric,
      nameSimilarity: members.map((a) => members.map((b) => nameSimilarity(a.name, b.name))),
      explanations: explainReasons(cluster.reasons, cluster.evidence),
      candidates: candidates.map(({ operatorId: _operatorId, ...candidate }) => candidate),
    };
  }

  /** The bytes of a face's original photo, for a caller who may see it. */
  async photo(principal: Principal, faceId: number) {
    const photo = await this.clusters.photoOf(faceId, scope(principal));
    if (!photo) throw notFound('face');
    if (photo.purged) {
      throw new AppError(410, 'photo_expired', 'the original photo was deleted after its retention period');
    }
    const stream = await this.files.openForReading(this.files.photoPath(photo.sha256, photo.mimeType as PhotoMimeType));
    if (!stream) throw notFound('photo');
    return { stream, mimeType: photo.mimeType };
  }

  /** The bytes of a face thumbnail the caller may see. */
  async thumbnail(principal: Principal, faceId: number): Promise<Readable> {
    const relative = await this.clusters.thumbnailPath(faceId, scope(principal));
    if (!relative) throw notFound('face');
    const stream = await this.files.openForReading(this.files.resolve(relative));
    if (!stream) throw notFound('thumbnail');
    return stream;
  }
}

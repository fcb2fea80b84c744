import path from 'node:path';
import type { AgentRisk, BlockCandidate, ClusterMember, ClusterSummary } from '../repositories/cluster.repository.js';
import type { Principal } from './auth.service.js';
import { AppError, notFound } from './errors.js';

export interface ClusterReader {
  list(options: {
    flagged: boolean | null;
    reason: string | null;
    operatorId: number | null;
    afterId: number | null;
    limit: number;
  }): Promise<ClusterSummary[]>;
  find(clusterId: number): Promise<ClusterSummary | null>;
  members(clusterId: number, operatorId: number | null): Promise<ClusterMember[]>;
  thumbnailPath(faceId: number, operatorId: number | null): Promise<string | null>;
  agentsByRisk(operatorId: number | null, limit: number): Promise<AgentRisk[]>;
  listBlockCandidates(options: {
    status: string | null;
    reason: string | null;
    operatorId: number | null;
    afterId: number | null;
    limit: number;
  }): Promise<BlockCandidate[]>;
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

const scope = (principal: Principal) => (principal.role === 'operator' ? principal.operatorId : null);

/**
 * Read side of face clusters. Analysts see everything; an operator sees only clusters that hold its own
 * records, and within them only its own records (another operator's subscribers stay hidden).
 */
export class ClusterQueryService {
  constructor(
    private readonly clusters: ClusterReader,
    private readonly dataDir: string,
  ) {}

  async list(principal: Principal, query: { flagged?: boolean; reason?: string; cursor?: string; limit: number }) {
    const rows = await this.clusters.list({
      flagged: query.flagged ?? null,
      reason: query.reason ?? null,
      operatorId: scope(principal),
      afterId: parseCursor(query.cursor),
      limit: query.limit + 1,
    });
    return keysetPage(rows, query.limit);
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

  async get(principal: Principal, clusterId: number) {
    const cluster = await this.clusters.find(clusterId);
    const members = cluster ? await this.clusters.members(clusterId, scope(principal)) : [];
    if (!cluster || members.length === 0) throw notFound('cluster');
    return {
      ...cluster,
      members: members.map((member) => ({ ...member, thumbnailUrl: `/v1/faces/${member.faceId}/thumbnail` })),
    };
  }

  /** Absolute path of a face thumbnail the caller may see. */
  async thumbnail(principal: Principal, faceId: number): Promise<string> {
    const relative = await this.clusters.thumbnailPath(faceId, scope(principal));
    if (!relative) throw notFound('face');
    return path.join(this.dataDir, relative);
  }
}

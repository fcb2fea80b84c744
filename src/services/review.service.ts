import type { CandidateDecision, CandidateView, CaseSource } from '../repositories/review.repository.js';
import type { Principal } from './auth.service.js';
import { AppError, notFound } from './errors.js';
import { containsIdentifier } from './kyc-validators.js';

export type DismissReason = 'different_people' | 'legitimate_use' | 'bad_photo';

export type DecisionRequest =
  | { action: 'confirm'; msisdns?: string[]; source?: CaseSource; note?: string }
  | { action: 'dismiss'; reason: DismissReason; msisdns?: string[]; note?: string }
  | { action: 'keep'; keep: string[]; source?: CaseSource; note?: string }
  | { action: 'split'; faceIds: number[] }
  | { action: 'merge'; otherClusterId: number };

export interface ReviewStore {
  candidates(clusterId: number, operatorId: number | null): Promise<CandidateView[]>;
  decide(
    clusterId: number,
    decisions: readonly CandidateDecision[],
    meta: { actor: string; apiKeyId: number | null; source: CaseSource; note: string | null; action: string },
  ): Promise<number>;
  addConstraints(
    kind: 'cannot_link' | 'must_link',
    pairs: readonly [number, number][],
    meta: { actor: string; apiKeyId: number | null; clusterId: number; details: Record<string, unknown> },
  ): Promise<number>;
  cannotLinked(a: readonly number[], b: readonly number[]): Promise<boolean>;
}
export interface ReviewClusters {
  find(clusterId: number): Promise<{ id: number; evidence: Record<string, unknown> } | null>;
  members(clusterId: number, operatorId: number | null): Promise<{ faceId: number; msisdn: string }[]>;
}
export interface RecomputeQueue {
  /** Asks the cluster worker to apply new constraints now. */
  requestRecompute(reason: string): Promise<void>;
}

/**
 * Analysts' decisions on a flagged cluster. Confirm, dismiss and keep-up-to-the-cap change the status of
 * the cluster's block candidates; split and merge store constraints (cannot-link, must-link) that the
 * cluster worker applies, then keeps honouring in every later assignment and rebuild.
 */
export class ReviewService {
  constructor(private readonly deps: { review: ReviewStore; clusters: ReviewClusters; queue: RecomputeQueue }) {}

  async decide(principal: Principal, clusterId: number, request: DecisionRequest): Promise<'decided' | 'recomputing'> {
    const cluster = await this.deps.clusters.find(clusterId);
    if (!cluster) throw notFound('cluster');
    const actor = `key:${principal.keyId}`;
    if (request.action === 'split') return this.split(principal, clusterId, request.faceIds);
    if (request.action === 'merge') return this.merge(principal, clusterId, request.otherClusterId);

    const candidates = await this.deps.review.candidates(clusterId, null);
    if (candidates.length === 0) {
      throw new AppError(409, 'nothing_to_decide', 'this cluster has no block candidates (it is not flagged)');
    }
    const numbers = new Set(candidates.map((c) => c.msisdn));
    const chosen = (list: string[] | undefined) => {
      const unknown = (list ?? []).filter((msisdn) => !numbers.has(msisdn));
      if (unknown.length > 0) {
        throw new AppError(400, 'unknown_msisdn', 'some numbers are not candidates of this cluster', { unknown });
      }
      return list && list.length > 0 ? list : [...numbers];
    };

    let decisions: CandidateDecision[];
    let source: CaseSource = 'analysis';
    if (request.action === 'confirm') {
      decisions = chosen(request.msisdns).map((msisdn) => ({ msisdn, status: 'confirmed', reason: null }));
      source = request.source ?? 'analysis';
    } else if (request.action === 'dismiss') {
      decisions = chosen(request.msisdns).map((msisdn) => ({ msisdn, status: 'dismissed', reason: request.reason }));
    } else {
      const keep = new Set(chosen(request.keep));
      const cap = Number(cluster.evidence.simCap ?? 0);
      if (cap > 0 && keep.size > cap) {
        throw new AppError(400, 'over_sim_cap', `a subscriber may keep at most ${cap} connections here`, { cap });
      }
      source = request.source ?? 'analysis';
      decisions = [...numbers].map((msisdn) =>
        keep.has(msisdn)
          ? { msisdn, status: 'dismissed', reason: 'kept_within_cap' }
          : { msisdn, status: 'confirmed', reason: null },
      );
    }
    const note = 'note' in request ? (request.note ?? null) : null;
    if (note !== null && containsIdentifier(note)) {
      throw new AppError(
        400,
        'note_contains_identifier',
        'a note must not hold a phone or identity-document number (the audit log keeps it for good); name the ' +
          'record instead',
      );
    }
    await this.deps.review.decide(clusterId, decisions, {
      actor,
      apiKeyId: principal.keyId,
      source,
      note,
      action: `cluster.${request.action}`,
    });
    return 'decided';
  }

  /** The selected faces are another person: cannot-link each of them with each remaining member. */
  private async split(principal: Principal, clusterId: number, faceIds: number[]) {
    const members = (await this.deps.clusters.members(clusterId, null)).map((m) => m.faceId);
    const selected = new Set(faceIds);
    const unknown = faceIds.filter((id) => !members.includes(id));
    if (unknown.length > 0) {
      throw new AppError(400, 'unknown_face', 'some faces are not members of this cluster', { unknown });
    }
    const rest = members.filter((id) => !selected.has(id));
    if (selected.size === 0 || rest.length === 0) {
      throw new AppError(400, 'invalid_split', "select some, but not all, of the cluster's faces");
    }
    const pairs: [number, number][] = [];
    for (const a of selected) for (const b of rest) pairs.push([a, b]);
    await this.deps.review.addConstraints('cannot_link', pairs, {
      actor: `key:${principal.keyId}`,
      apiKeyId: principal.keyId,
      clusterId,
      details: { faceIds: [...selected].sort((a, b) => a - b) },
    });
    await this.deps.queue.requestRecompute(`split-${clusterId}`);
    return 'recomputing' as const;
  }

  /** The two clusters are one person: a must-link between them (refused when a split said otherwise). */
  private async merge(principal: Principal, clusterId: number, otherClusterId: number) {
    if (otherClusterId === clusterId) throw new AppError(400, 'invalid_merge', 'a cluster cannot merge with itself');
    const [mine, theirs] = await Promise.all([
      this.deps.clusters.members(clusterId, null),
      this.deps.clusters.members(otherClusterId, null),
    ]);
    if (theirs.length === 0) throw notFound('cluster');
    const a = mine.map((m) => m.faceId);
    const b = theirs.map((m) => m.faceId);
    if (await this.deps.review.cannotLinked(a, b)) {
      throw new AppError(409, 'constraint_conflict', 'an earlier split says these clusters are different people');
    }
    await this.deps.review.addConstraints('must_link', [[Math.min(...a), Math.min(...b)]], {
      actor: `key:${principal.keyId}`,
      apiKeyId: principal.keyId,
      clusterId,
      details: { otherClusterId },
    });
    await this.deps.queue.requestRecompute(`merge-${clusterId}-${otherClusterId}`);
    return 'recomputing' as const;
  }
}

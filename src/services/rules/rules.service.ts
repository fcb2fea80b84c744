import type { ReasonCode } from '../fraud-rules.js';
import { faceNeighbourhoods, type FaceGallery } from './face-links.js';
import { type IdentityPolicy, type Person, type RuleFinding, type SubscriberRecord } from './identity-graph.js';
import { linkSearchDistance, personCandidates, resolveInGallery } from './person-rules.js';

/** A record as stored: the identity graph's view plus the face cluster its face is in. */
export type StoredSubscriberRecord = SubscriberRecord & { clusterId: number | null };

/** What the rules read from Postgres. */
export interface RulesStore {
  /**
   * The records whose faces are in `clusterIds`, and every record sharing an identity document with them (with
   * or without a face): a document's records are counted together.
   */
  subscriberRecords(embedder: string, clusterIds: readonly number[]): Promise<StoredSubscriberRecord[]>;
  /** Pairs of the given faces whose photos are one picture (perceptual hash). */
  photoLinks(faceIds: readonly number[]): Promise<[number, number][]>;
  /** Clusters sharing a document or a photo with records in `clusterIds`. */
  relatedClusters(clusterIds: readonly number[]): Promise<number[]>;
  /** Clusters holding a record with this identity document (hex HMAC). */
  clustersWithDocument(idHmacHex: string): Promise<number[]>;
  /** Faces whose photo is the picture with this perceptual hash. */
  facesWithPhoto(photoPhash: string): Promise<number[]>;
}

/** The live gallery the rules search: the cluster worker's index and clusters. */
export type RulesGallery = FaceGallery & {
  clusterOf(faceId: number): number | undefined;
  membersOf(clusterId: number): number[];
};

/** A subscriber not yet activated (a pre-activation check): the record's fields, its face and photo hash. */
export interface Probe {
  record: Omit<SubscriberRecord, 'recordId' | 'faceId'>;
  vector: Float32Array;
  photoPhash: string;
}

/** What the rules would say about a probe if it were activated now. */
export interface ProbeVerdict {
  reasons: ReasonCode[];
  score: number;
  findings: RuleFinding[];
  identities: number;
  connections: number;
  simCap: number;
}

/** Stands for the probe's record and face in the graph (stored ids are positive). */
const PROBE_ID = -1;

/** One face cluster's verdict: the union of its members' findings (the review queue's unit). */
export interface ClusterJudgement {
  clusterId: number;
  reasons: ReasonCode[];
  score: number;
  evidence: ClusterEvidence;
}

/** What the analyst sees for a cluster: each person its records belong to, and their findings in words. */
export interface ClusterEvidence {
  identities: number;
  connections: number;
  simCap: number;
  findings: (RuleFinding & { person: number })[];
  /** The subscribers (persons) the cluster's records belong to; records elsewhere are listed with their cluster. */
  persons: { recordIds: number[]; identities: number; connections: number; simCap: number; clusters: number[] }[];
}

/** A block candidate to write: one per flagged record, in the cluster of its face (null: no face). */
export interface CandidateWrite {
  clusterId: number;
  recordId: number;
  reasons: ReasonCode[];
  score: number;
  evidence: { findings: RuleFinding[]; person: { recordIds: number[]; clusters: number[] } };
}

/** A candidate that belongs to a record, not to a face cluster: its photo gave no usable face. */
export interface RecordCandidateWrite {
  recordId: number;
  reasons: ReasonCode[];
  score: number;
  evidence: { state: string; detail: Record<string, unknown>; findings: RuleFinding[] };
}

/** Ranks below every face rule: a missing face is a lead to check, not evidence of a ring. */
export const NO_USABLE_FACE_SCORE = 0.2;

/**
 * NO_USABLE_FACE: a connection whose KYC photo shows no usable face cannot be checked against anyone, so it is
 * put in front of an analyst with the pipeline's reason (no face, two competing faces, too small, unreadable).
 */
export function noUsableFaceCandidate(
  recordId: number,
  state: string,
  detail: Record<string, unknown>,
): RecordCandidateWrite {
  const finding: RuleFinding = {
    reason: 'NO_USABLE_FACE',
    score: NO_USABLE_FACE_SCORE,
    recordIds: [recordId],
    parts: [
      {
        part: 'photo',
        value: NO_USABLE_FACE_SCORE,
        text: `The photo ended as ${state.replaceAll('_', ' ')}: the subscriber cannot be matched against anyone.`,
      },
    ],
  };
  return {
    recordId,
    reasons: ['NO_USABLE_FACE'],
    score: NO_USABLE_FACE_SCORE,
    evidence: { state, detail, findings: [finding] },
  };
}

/** How many rounds the judged set grows by face links before the rules run on it. */
const EXPANSION_ROUNDS = 3;

/**
 * The fraud rules' one home: given the clusters that changed, it gathers every record whose subscriber could
 * change with them (shared documents and photos, faces near theirs), resolves subscribers with the identity
 * graph, and returns a verdict per face cluster and a block candidate per flagged record.
 */
export class RulesService {
  constructor(
    private readonly store: RulesStore,
    private readonly policy: IdentityPolicy,
    /** The embedder whose faces and clusters are judged (a record has one face per embedder). */
    private readonly embedder: string,
  ) {}

  async judge(
    changed: readonly number[],
    gallery: RulesGallery,
  ): Promise<{ clusters: ClusterJudgement[]; candidates: CandidateWrite[] }> {
    const searchDistance = linkSearchDistance(this.policy, gallery.size);
    const judged = new Set(changed);
    for (const id of await this.store.relatedClusters([...judged])) judged.add(id);
    // Faces near the judged faces may join their subscribers: their clusters are judged too.
    let frontier = [...judged];
    for (let round = 0; round < EXPANSION_ROUNDS && frontier.length > 0; round++) {
      const faces = frontier.flatMap((clusterId) => gallery.membersOf(clusterId));
      const { links } = faceNeighbourhoods(gallery, faces, searchDistance);
      const reached = new Set<number>();
      for (const link of links) {
        for (const faceId of [link.faceA, link.faceB]) {
          const clusterId = gallery.clusterOf(faceId);
          if (clusterId !== undefined && !judged.has(clusterId)) reached.add(clusterId);
        }
      }
      for (const id of await this.store.relatedClusters([...reached])) if (!judged.has(id)) reached.add(id);
      for (const id of reached) judged.add(id);
      frontier = [...reached];
    }

    const records = await this.recordsIn([...judged], gallery);
    const persons = await this.resolve(records, gallery, []);
    return project(persons, records, [...judged]);
  }

  /**
   * A pre-activation check: the probe is put in the graph beside the stored records it could be linked to (its
   * face's neighbours, its document, its picture) and judged with them, as it would be after upload. Reads only.
   * A number checked again stands in for its own stored record.
   */
  async judgeProbe(probe: Probe, stored: RulesGallery): Promise<ProbeVerdict> {
    const gallery: RulesGallery = {
      metric: stored.metric,
      size: stored.size + 1,
      vectorOf: (faceId) => (faceId === PROBE_ID ? probe.vector : stored.vectorOf(faceId)),
      searchMany: (vectors, k) => stored.searchMany(vectors, k),
      clusterOf: (faceId) => stored.clusterOf(faceId),
      membersOf: (clusterId) => stored.membersOf(clusterId),
    };
    const searchDistance = linkSearchDistance(this.policy, gallery.size);
    const { links } = faceNeighbourhoods(gallery, [PROBE_ID], searchDistance);
    const samePicture = await this.store.facesWithPhoto(probe.photoPhash);
    const clusters = new Set(await this.store.clustersWithDocument(probe.record.idHmac));
    for (const faceId of [
      ...links.map((link) => (link.faceA === PROBE_ID ? link.faceB : link.faceA)),
      ...samePicture,
    ]) {
      const clusterId = stored.clusterOf(faceId);
      if (clusterId !== undefined) clusters.add(clusterId);
    }
    const records = (await this.recordsIn([...clusters], gallery)).filter(
      (record) => record.msisdn !== probe.record.msisdn,
    );
    const probeRecord: StoredSubscriberRecord = {
      ...probe.record,
      recordId: PROBE_ID,
      faceId: PROBE_ID,
      clusterId: null,
    };
    const photoLinks = samePicture.map((faceId): [number, number] => [PROBE_ID, faceId]);
    const persons = await this.resolve([...records, probeRecord], gallery, photoLinks);
    const person = persons.find((candidate) => candidate.recordIds.includes(PROBE_ID))!;
    const findings = person.findings.filter((finding) => finding.recordIds.includes(PROBE_ID));
    return {
      reasons: [...new Set(findings.map((finding) => finding.reason))],
      score: Math.max(0, ...findings.map((finding) => finding.score)),
      findings,
      identities: person.identities,
      connections: person.connections,
      simCap: person.simCap,
    };
  }

  /**
   * The stored records of `clusterIds` and their documents. A face not yet in the live index (still being
   * clustered) counts as no face for now: it is judged when its own cluster is written.
   */
  private async recordsIn(clusterIds: number[], gallery: FaceGallery): Promise<StoredSubscriberRecord[]> {
    const stored = await this.store.subscriberRecords(this.embedder, clusterIds);
    return stored.map((record) =>
      record.faceId !== null && gallery.vectorOf(record.faceId) === undefined ? { ...record, faceId: null } : record,
    );
  }

  /** The identity graph over `records`, with their faces' links and neighbourhoods searched in `gallery`. */
  private async resolve(
    records: readonly StoredSubscriberRecord[],
    gallery: FaceGallery,
    extraPhotoLinks: readonly [number, number][],
  ): Promise<Person[]> {
    const storedFaces = records.flatMap((record) =>
      record.faceId === null || record.faceId === PROBE_ID ? [] : [record.faceId],
    );
    const photoLinks = [...(await this.store.photoLinks(storedFaces)), ...extraPhotoLinks];
    return resolveInGallery(records, gallery, this.policy, photoLinks);
  }
}

/** Persons onto the review's units: a verdict per judged cluster and a candidate per flagged record. */
function project(persons: readonly Person[], records: readonly StoredSubscriberRecord[], judged: readonly number[]) {
  const clusterOfRecord = new Map(records.map((record) => [record.recordId, record.clusterId]));
  const personOfRecord = new Map<number, number>();
  persons.forEach((person, i) => person.recordIds.forEach((recordId) => personOfRecord.set(recordId, i)));
  const clustersOf = (person: Person) =>
    [...new Set(person.recordIds.map((id) => clusterOfRecord.get(id)).filter((id): id is number => id != null))].sort(
      (a, b) => a - b,
    );

  const candidates: CandidateWrite[] = [];
  const judgedSet = new Set(judged);
  for (const candidate of personCandidates(persons)) {
    const clusterId = clusterOfRecord.get(candidate.recordId);
    // Records without a face have no cluster to be reviewed in; NO_USABLE_FACE speaks for them.
    if (clusterId == null || !judgedSet.has(clusterId)) continue;
    const person = persons[personOfRecord.get(candidate.recordId)!]!;
    candidates.push({
      clusterId,
      recordId: candidate.recordId,
      reasons: candidate.reasons,
      score: candidate.score,
      evidence: { findings: candidate.findings, person: { recordIds: person.recordIds, clusters: clustersOf(person) } },
    });
  }

  const clusters: ClusterJudgement[] = judged.map((clusterId) => {
    const own = records.filter((record) => record.clusterId === clusterId);
    const ownPersons = [...new Set(own.map((record) => personOfRecord.get(record.recordId)!))].sort((a, b) => a - b);
    const ownCandidates = candidates.filter((candidate) => candidate.clusterId === clusterId);
    const findings = ownPersons.flatMap((p, i) => persons[p]!.findings.map((finding) => ({ ...finding, person: i })));
    const main = ownPersons
      .map((p) => persons[p]!)
      .sort((a, b) => b.score - a.score || b.connections - a.connections)[0];
    return {
      clusterId,
      reasons: [...new Set(ownCandidates.flatMap((candidate) => candidate.reasons))],
      score: Math.max(0, ...ownCandidates.map((candidate) => candidate.score)),
      evidence: {
        identities: main?.identities ?? 0,
        connections: main?.connections ?? 0,
        simCap: main?.simCap ?? 0,
        findings: findings.filter((finding) => ownCandidates.some((c) => finding.recordIds.includes(c.recordId))),
        persons: ownPersons.map((p) => ({
          recordIds: persons[p]!.recordIds,
          identities: persons[p]!.identities,
          connections: persons[p]!.connections,
          simCap: persons[p]!.simCap,
          clusters: clustersOf(persons[p]!),
        })),
      },
    };
  });
  return { clusters, candidates };
}

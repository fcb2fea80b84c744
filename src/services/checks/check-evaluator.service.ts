import type { ClusterMatch } from '../clustering/face-clusterer.js';
import type { CheckFacePayload } from '../../jobs/job-registry.js';
import type { PhotoAnalysis } from '../face-pipeline.service.js';
import { candidateScore, judgeCluster, type ClusterRecord, type ReasonCode } from '../fraud-rules.js';
import { NO_USABLE_FACE_SCORE } from '../rules/rules.service.js';

export interface CheckResult {
  face: { state: PhotoAnalysis['state']; quality: Record<string, unknown> };
  /** Nearest clusters, best first; the first with `joins` is where the subscriber would land. */
  matches: (ClusterMatch & { flagged: boolean; reasons: string[] })[];
  clusterId: number | null;
  /** Rules that would fire if this record were activated now. */
  reasons: ReasonCode[];
  score: number;
  evidence: { identities: number; connections: number; simCap: number };
  seconds: number;
}

export interface CheckAnalyser {
  analyse(bytes: Buffer): Promise<PhotoAnalysis>;
}
export interface CheckMatcher {
  match(vector: Float32Array): Promise<ClusterMatch[]>;
}
export interface CheckStore {
  recordsOf(clusterIds: readonly number[]): Promise<Map<number, ClusterRecord[]>>;
  /** Clusters holding a record with this document (hex HMAC). */
  clustersWithDocument(idHmacHex: string): Promise<number[]>;
  /** Documents (hex HMACs) on records whose photo has this perceptual hash. */
  documentsWithPhoto(photoPhash: string): Promise<string[]>;
  clusterReasons(clusterIds: readonly number[]): Promise<Map<number, string[]>>;
}

/** How many nearest clusters a check reports. */
const REPORTED_MATCHES = 5;

/**
 * A pre-activation check: where would this subscriber's face land among all clusters, and which rules would
 * fire if the connection were activated. Reads only; the record is judged together with the cluster it
 * would join, exactly as the cluster worker would judge it after upload.
 */
export class CheckEvaluatorService {
  constructor(private readonly deps: { analyser: CheckAnalyser; matcher: CheckMatcher; store: CheckStore }) {}

  async evaluate(payload: CheckFacePayload): Promise<CheckResult> {
    const started = performance.now();
    const { analyser, matcher, store } = this.deps;
    const analysis = await analyser.analyse(Buffer.from(payload.photoBase64, 'base64'));
    const seconds = () => Math.round(performance.now() - started) / 1000;
    if (analysis.state !== 'face_ready') {
      return {
        face: { state: analysis.state, quality: analysis.detail },
        matches: [],
        clusterId: null,
        reasons: ['NO_USABLE_FACE'],
        score: NO_USABLE_FACE_SCORE,
        evidence: { identities: 1, connections: 1, simCap: 0 },
        seconds: seconds(),
      };
    }

    const matches = (await matcher.match(analysis.embedding)).slice(0, REPORTED_MATCHES);
    const home = matches.find((match) => match.joins) ?? null;
    const [members, documentClusters, photoDocuments, reasons] = await Promise.all([
      home ? store.recordsOf([home.clusterId]) : Promise.resolve(new Map<number, ClusterRecord[]>()),
      store.clustersWithDocument(payload.record.idHmacHex),
      store.documentsWithPhoto(analysis.photoPhash),
      store.clusterReasons(matches.map((match) => match.clusterId)),
    ]);
    // The face lands in `home`, or starts a cluster of its own (-1 stands for it).
    const clustersOfDocument = new Set([...documentClusters, home?.clusterId ?? -1]);
    const checked: ClusterRecord = {
      recordId: 0,
      msisdn: payload.record.msisdn,
      name: payload.record.name,
      dob: payload.record.dob,
      idHmac: payload.record.idHmacHex,
      lsa: payload.record.lsa,
      documentClusters: clustersOfDocument.size,
      photoIdentities: new Set([...photoDocuments, payload.record.idHmacHex]).size,
    };
    // A number checked again stands in for its own stored record.
    const others = (home ? (members.get(home.clusterId) ?? []) : []).filter((r) => r.msisdn !== checked.msisdn);
    const verdict = judgeCluster([...others, checked]);
    return {
      face: { state: 'face_ready', quality: analysis.detail as unknown as Record<string, unknown> },
      matches: matches.map((match) => {
        const existing = reasons.get(match.clusterId) ?? [];
        return { ...match, flagged: existing.length > 0, reasons: existing };
      }),
      clusterId: home?.clusterId ?? null,
      reasons: verdict.reasons,
      score: candidateScore(verdict),
      evidence: {
        identities: verdict.evidence.identities,
        connections: verdict.evidence.connections,
        simCap: verdict.evidence.simCap,
      },
      seconds: seconds(),
    };
  }
}

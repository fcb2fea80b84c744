import type { ClusterMatch } from '../clustering/face-clusterer.js';
import type { CheckFacePayload } from '../../jobs/job-registry.js';
import type { PhotoAnalysis } from '../face-pipeline.service.js';
import type { ReasonCode } from '../fraud-rules.js';
import type { RuleFinding } from '../rules/identity-graph.js';
import { NO_USABLE_FACE_SCORE, type Probe, type ProbeVerdict } from '../rules/rules.service.js';

export interface CheckResult {
  face: { state: PhotoAnalysis['state']; quality: Record<string, unknown> };
  /** Nearest clusters, best first; the first with `joins` is where the subscriber would land. */
  matches: (ClusterMatch & { flagged: boolean; reasons: string[] })[];
  clusterId: number | null;
  /** Rules that would fire if this record were activated now. */
  reasons: ReasonCode[];
  score: number;
  evidence: { identities: number; connections: number; simCap: number; findings: RuleFinding[] };
  seconds: number;
}

export interface CheckAnalyser {
  analyse(bytes: Buffer): Promise<PhotoAnalysis>;
}
export interface CheckMatcher {
  match(vector: Float32Array): Promise<ClusterMatch[]>;
  /** The fraud rules on the probe among the stored records, read-only (ClusterService.judgeProbe). */
  judgeProbe(probe: Probe): Promise<ProbeVerdict>;
}
export interface CheckStore {
  clusterReasons(clusterIds: readonly number[]): Promise<Map<number, string[]>>;
}

/** Where each check's latency is reported (the cluster worker's Prometheus metrics; nothing in tests). */
export interface CheckMetrics {
  /** `outcome` is the face state the check found, or `error` when the check threw. */
  checked(outcome: PhotoAnalysis['state'] | 'error', seconds: number): void;
}
export const NO_CHECK_METRICS: CheckMetrics = { checked: () => undefined };

/** How many nearest clusters a check reports. */
const REPORTED_MATCHES = 5;

/**
 * A pre-activation check: where would this subscriber's face land among all clusters, and which rules would
 * fire if the connection were activated. Reads only; the record is judged together with the cluster it
 * would join, exactly as the cluster worker would judge it after upload.
 */
export class CheckEvaluatorService {
  constructor(
    private readonly deps: {
      analyser: CheckAnalyser;
      matcher: CheckMatcher;
      store: CheckStore;
      metrics?: CheckMetrics;
    },
  ) {}

  /** Answers one check; its time (photo analysis, 1:N match and the rules) goes to the metrics, failed or not. */
  async evaluate(payload: CheckFacePayload): Promise<CheckResult> {
    const metrics = this.deps.metrics ?? NO_CHECK_METRICS;
    const started = performance.now();
    try {
      const result = await this.answer(payload, started);
      metrics.checked(result.face.state, (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      metrics.checked('error', (performance.now() - started) / 1000);
      throw error;
    }
  }

  private async answer(payload: CheckFacePayload, started: number): Promise<CheckResult> {
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
        evidence: { identities: 1, connections: 1, simCap: 0, findings: [] },
        seconds: seconds(),
      };
    }

    const matches = (await matcher.match(analysis.embedding)).slice(0, REPORTED_MATCHES);
    const home = matches.find((match) => match.joins) ?? null;
    const { record } = payload;
    const [verdict, reasons] = await Promise.all([
      matcher.judgeProbe({
        record: {
          msisdn: record.msisdn,
          name: record.name,
          fatherName: record.fatherName ?? null,
          dob: record.dob,
          idHmac: record.idHmacHex,
          lsa: record.lsa,
          posAgentId: record.posAgentId ?? '',
          activationDate: record.activationDate ?? new Date().toISOString().slice(0, 10),
          faceQuality: { blur: analysis.detail.blur, yaw: analysis.detail.yaw },
        },
        vector: analysis.embedding,
        photoPhash: analysis.photoPhash,
      }),
      store.clusterReasons(matches.map((match) => match.clusterId)),
    ]);
    return {
      face: { state: 'face_ready', quality: analysis.detail as unknown as Record<string, unknown> },
      matches: matches.map((match) => {
        const existing = reasons.get(match.clusterId) ?? [];
        return { ...match, flagged: existing.length > 0, reasons: existing };
      }),
      clusterId: home?.clusterId ?? null,
      reasons: verdict.reasons,
      score: verdict.score,
      evidence: {
        identities: verdict.identities,
        connections: verdict.connections,
        simCap: verdict.simCap,
        findings: verdict.findings,
      },
      seconds: seconds(),
    };
  }
}

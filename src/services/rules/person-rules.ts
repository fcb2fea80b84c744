import type { ReasonCode } from '../fraud-rules.js';
import { distanceAtFalseMatchRate } from './face-evidence.js';
import type { IdentityPolicy, Person, RuleFinding } from './identity-graph.js';

/** One record's block candidate: the findings of its person that name it, and the best of their scores. */
export interface RecordCandidate {
  recordId: number;
  reasons: ReasonCode[];
  score: number;
  findings: RuleFinding[];
  person: { recordIds: number[]; identities: number; connections: number; simCap: number };
}

/** Block candidates from resolved persons: every record a finding names, with that finding's reason. */
export function personCandidates(persons: readonly Person[]): RecordCandidate[] {
  const candidates: RecordCandidate[] = [];
  for (const person of persons) {
    for (const recordId of person.recordIds) {
      const findings = person.findings.filter((finding) => finding.recordIds.includes(recordId));
      if (findings.length === 0) continue;
      candidates.push({
        recordId,
        reasons: [...new Set(findings.map((finding) => finding.reason))],
        score: Math.max(...findings.map((finding) => finding.score)),
        findings,
        person: {
          recordIds: person.recordIds,
          identities: person.identities,
          connections: person.connections,
          simCap: person.simCap,
        },
      });
    }
  }
  return candidates;
}

/** How far the gallery must be searched around each face for every link the policy could accept. */
export function linkSearchDistance(policy: IdentityPolicy, galleryFaces: number): number {
  const gallery = Math.max(1, galleryFaces);
  return Math.max(
    distanceAtFalseMatchRate(policy.calibration, policy.maxExpectedFalseMatches / gallery),
    distanceAtFalseMatchRate(policy.calibration, policy.namedLinkMaxExpectedFalseMatches / gallery),
  );
}

import type { ReasonCode } from '../fraud-rules.js';
import { distanceAtFalseMatchRate } from './face-evidence.js';
import { faceNeighbourhoods, type FaceGallery } from './face-links.js';
import {
  resolvePersons,
  type IdentityPolicy,
  type Person,
  type RuleFinding,
  type SubscriberRecord,
} from './identity-graph.js';

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

/**
 * The identity graph over `records`, with their faces' links and neighbourhoods searched in `gallery` (the
 * cluster worker's live index, or an in-process one): how the rules service, the scenario evaluation and the
 * tests resolve persons alike.
 */
export function resolveInGallery(
  records: readonly SubscriberRecord[],
  gallery: FaceGallery,
  policy: IdentityPolicy,
  photoLinks: readonly [number, number][] = [],
): Person[] {
  const faceIds = records.flatMap((record) => (record.faceId === null ? [] : [record.faceId]));
  const near = faceNeighbourhoods(gallery, faceIds, linkSearchDistance(policy, gallery.size));
  return resolvePersons(
    {
      records,
      faceLinks: near.links,
      distance: near.distance,
      photoLinks,
      cohort: near.cohort,
      galleryFaces: gallery.size,
    },
    policy,
  );
}

/*
 * Over 400 lines on purpose: person resolution inside and across face clusters (documents, names, photo reuse,
 * face evidence) is one graph algorithm; its parts only make sense together.
 */
import {
  nameSimilarity,
  namesMatch,
  RESTRICTED_LSAS,
  SIM_CAP,
  SIM_CAP_RESTRICTED,
  type ReasonCode,
} from '../fraud-rules.js';
import {
  distanceAtFalseMatchRate,
  distanceWithSamePersonBeyond,
  falseMatchRate,
  samePersonBeyond,
  type FaceEvidenceCalibration,
} from './face-evidence.js';

/**
 * Two photos are one picture (a photo link) when their 64-bit perceptual hashes differ in at most this many
 * bits. Measured on the dev set (518 photos): one picture rescaled and re-lit differs by 1 bit; photos of
 * different people never came closer than 10 bits. Must stay below 4 for the four-chunk lookup (migration 0010).
 */
export const PHOTO_REUSE_MAX_BITS = 3;

/** A KYC record as the identity graph sees it. */
export interface SubscriberRecord {
  recordId: number;
  msisdn: string;
  name: string;
  fatherName: string | null;
  dob: string | null;
  /** Hex HMAC of the identity document. */
  idHmac: string;
  lsa: string;
  posAgentId: string;
  /** YYYY-MM-DD. */
  activationDate: string;
  /** The record's face, or null when its photo gave none. */
  faceId: number | null;
  /** The face's sharpness (variance of the Laplacian) and head turn (degrees), when measured. */
  faceQuality?: { blur: number; yaw: number } | null;
}

/** A face pair found by nearest-neighbour search, each pair once. */
export interface FaceLink {
  faceA: number;
  faceB: number;
  distance: number;
}

/** What the graph is built from: records, the face pairs near enough to matter, and the gallery around them. */
export interface IdentityGraphInput {
  records: readonly SubscriberRecord[];
  faceLinks: readonly FaceLink[];
  /** Distance between any two faces: faces under one document are compared even when far apart. */
  distance: (faceA: number, faceB: number) => number;
  /** Face pairs whose photos are one picture (perceptual hash). */
  photoLinks: readonly [number, number][];
  /**
   * A face's neighbourhood: the mean and spread of its distances to the faces ranked just past its own likely
   * matches in the gallery (its cohort of strangers), or null when the gallery is too small to have one.
   */
  cohort: (faceId: number) => { mean: number; sd: number } | null;
  /** Faces in the gallery the links were searched in: the number of chances for a coincidence. */
  galleryFaces: number;
}

/** The decision layer's settings: each is a rate, so it holds for any model with a calibration. */
export interface IdentityPolicy {
  calibration: FaceEvidenceCalibration;
  /**
   * A face link alone joins two identities only when a search of the whole gallery would be expected to turn
   * up at most this many strangers that close: false-match rate at its distance x gallery size.
   */
  maxExpectedFalseMatches: number;
  /**
   * ...and when it stands out from both faces' neighbourhoods: at least this many cohort standard deviations
   * closer than the cohort's mean (look-alikes crowd some regions of face space; a match there means less).
   */
  minCohortZ: number;
  /**
   * Faces under one document are confidently different people when fewer than this share of one person's
   * photo pairs lie that far apart. Anything closer is plausibly the same subscriber.
   */
  differentPersonShare: number;
  /**
   * Two documents with matching names and dates of birth are one subscriber when a face link between them has
   * at most this many expected coincidences in the gallery (the names carry the rest of the evidence).
   */
  namedLinkMaxExpectedFalseMatches: number;
  /**
   * A face is clear enough to call another face a different person only when it is at least this sharp and
   * turned no more than this far. Blurred or turned faces still match; they only cannot accuse. On faces-dev
   * every same-person pair farther apart than the different-person bound had one photo with a sharpness of
   * 22-31 (the median photo: 247); 50 is about its 7th percentile. The turn limit is the quality gate's default,
   * so a deployment that loosens the gate does not loosen this.
   */
  clearFace: { minBlur: number; maxAbsYaw: number };
}

export const DEFAULT_IDENTITY_POLICY: Omit<IdentityPolicy, 'calibration'> = {
  maxExpectedFalseMatches: 0.01,
  minCohortZ: 4,
  differentPersonShare: 0.01,
  namedLinkMaxExpectedFalseMatches: 1,
  clearFace: { minBlur: 50, maxAbsYaw: 50 },
};

/** One named part of a candidate's score, with the words the analyst reads. */
export interface ScorePart {
  part: 'face' | 'conflict' | 'context' | 'connections' | 'document' | 'photo';
  value: number;
  text: string;
}

/** A rule that fired on a person, with its score and the parts the score is built from. */
export interface RuleFinding {
  reason: ReasonCode;
  score: number;
  parts: ScorePart[];
  /** Records the finding is about (all of the person's for the person-wide rules). */
  recordIds: number[];
}

/** A subscriber: the records that confident links join, and what the rules found. */
export interface Person {
  recordIds: number[];
  identities: number;
  connections: number;
  simCap: number;
  /** Record ids grouped by the identity they present. */
  identityGroups: number[][];
  /** The links that joined the person, strongest evidence first. */
  links: PersonLink[];
  findings: RuleFinding[];
  reasons: ReasonCode[];
  score: number;
}

export interface PersonLink {
  kind: 'face' | 'document' | 'photo' | 'named_face';
  recordA: number;
  recordB: number;
  distance?: number;
  expectedFalseMatches?: number;
  cohortZ?: number;
}

/**
 * Resolves records into subscribers and applies the fraud rules to each: the identity graph of ARCHITECTURE.md.
 * Links, strongest first:
 * - a photo link (one picture) joins;
 * - a face link joins when a gallery this size would rarely produce a stranger that close and the match stands
 *   out from both faces' neighbourhoods;
 * - one document joins its records, unless their faces are confidently different people (DOCUMENT_REUSE);
 * - two documents whose names and dates of birth match join on a weaker face link (one person, two documents:
 *   the SIM cap counts both).
 * A face cluster is not a link: it is how candidates are found, not proof.
 */
export function resolvePersons(input: IdentityGraphInput, policy: IdentityPolicy): Person[] {
  const { calibration } = policy;
  const records = [...input.records].sort((a, b) => a.recordId - b.recordId);
  const byId = new Map(records.map((record) => [record.recordId, record]));
  const recordOfFace = new Map<number, SubscriberRecord>();
  for (const record of records) if (record.faceId !== null) recordOfFace.set(record.faceId, record);
  const parent = new Map(records.map((record) => [record.recordId, record.recordId]));
  const find = (id: number): number => {
    let root = id;
    while (parent.get(root)! !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  };
  const links: PersonLink[] = [];

  const gallery = Math.max(1, input.galleryFaces);
  const strongDistance = distanceAtFalseMatchRate(calibration, policy.maxExpectedFalseMatches / gallery);
  const namedDistance = distanceAtFalseMatchRate(calibration, policy.namedLinkMaxExpectedFalseMatches / gallery);
  const differentDistance = distanceWithSamePersonBeyond(calibration, policy.differentPersonShare);
  const cohortZ = (faceId: number, distance: number) => {
    const cohort = input.cohort(faceId);
    return cohort && cohort.sd > 0 ? (cohort.mean - distance) / cohort.sd : null;
  };

  for (const [faceA, faceB] of input.photoLinks) {
    const a = recordOfFace.get(faceA);
    const b = recordOfFace.get(faceB);
    if (!a || !b) continue;
    union(a.recordId, b.recordId);
    links.push({ kind: 'photo', recordA: a.recordId, recordB: b.recordId });
  }

  for (const link of input.faceLinks) {
    const a = recordOfFace.get(link.faceA);
    const b = recordOfFace.get(link.faceB);
    if (!a || !b) continue;
    const expected = falseMatchRate(calibration, link.distance) * gallery;
    const zs = [cohortZ(link.faceA, link.distance), cohortZ(link.faceB, link.distance)].filter(
      (z): z is number => z !== null,
    );
    const z = zs.length > 0 ? Math.min(...zs) : null;
    const standsOut = z === null || z >= policy.minCohortZ;
    if (link.distance <= strongDistance && standsOut) {
      union(a.recordId, b.recordId);
      links.push({
        kind: 'face',
        recordA: a.recordId,
        recordB: b.recordId,
        distance: link.distance,
        expectedFalseMatches: expected,
        ...(z === null ? {} : { cohortZ: z }),
      });
    } else if (a.idHmac !== b.idHmac && link.distance <= namedDistance && sameNamedPerson(a, b)) {
      union(a.recordId, b.recordId);
      links.push({
        kind: 'named_face',
        recordA: a.recordId,
        recordB: b.recordId,
        distance: link.distance,
        expectedFalseMatches: expected,
        ...(z === null ? {} : { cohortZ: z }),
      });
    }
  }

  // One document: its faces split into the groups that are plausibly one person; more than one group means
  // the document is on confidently different people.
  const byDocument = groupBy(records, (record) => record.idHmac);
  const reusedDocuments = new Map<string, { groups: number[][]; closest: number }>();
  for (const [idHmac, members] of byDocument) {
    if (members.length < 2) continue;
    const withFace = members.filter((record) => record.faceId !== null);
    const groups = plausibleGroups(withFace, (a, b) => input.distance(a.faceId!, b.faceId!) <= differentDistance);
    // Only groups with a clear face can stand for a different person: a group of blurred or turned faces alone
    // is inconclusive, and stays with the document.
    const clear = (record: SubscriberRecord) => isClear(record, policy);
    const conclusive = groups.filter((group) => group.some(clear));
    if (conclusive.length > 1) {
      let closest = Infinity;
      for (let i = 0; i < conclusive.length; i++)
        for (let j = i + 1; j < conclusive.length; j++)
          for (const a of conclusive[i]!.filter(clear))
            for (const b of conclusive[j]!.filter(clear))
              closest = Math.min(closest, input.distance(a.faceId!, b.faceId!));
      reusedDocuments.set(idHmac, { groups: conclusive.map((g) => g.map((r) => r.recordId)), closest });
      const inconclusive = groups.filter((group) => !group.some(clear)).flat();
      const homes = conclusive.map((group) => [...group, ...(group === conclusive[0] ? inconclusive : [])]);
      for (const group of homes) for (const record of group.slice(1)) union(group[0]!.recordId, record.recordId);
    } else {
      for (const record of members.slice(1)) union(members[0]!.recordId, record.recordId);
      links.push(
        ...members
          .slice(1)
          .map((record): PersonLink => ({ kind: 'document', recordA: members[0]!.recordId, recordB: record.recordId })),
      );
    }
  }

  const components = groupBy(records, (record) => find(record.recordId));
  const linksOf = groupBy(links, (link) => find(link.recordA));
  return [...components.values()].map((members) =>
    judgePerson(members, linksOf.get(find(members[0]!.recordId)) ?? [], {
      byDocument,
      reusedDocuments,
      byId,
      calibration,
      gallery,
      distance: input.distance,
    }),
  );
}

interface JudgeContext {
  byDocument: Map<string, SubscriberRecord[]>;
  reusedDocuments: Map<string, { groups: number[][]; closest: number }>;
  byId: Map<number, SubscriberRecord>;
  calibration: FaceEvidenceCalibration;
  gallery: number;
  distance: (faceA: number, faceB: number) => number;
}

/** The rules on one person. */
function judgePerson(members: SubscriberRecord[], links: PersonLink[], context: JudgeContext): Person {
  const identityGroups: SubscriberRecord[][] = [];
  for (const record of members) {
    const group = identityGroups.find((g) => g.some((other) => sameIdentity(other, record)));
    if (group) group.push(record);
    else identityGroups.push([record]);
  }
  const recordIds = members.map((record) => record.recordId);
  const connections = new Set(members.map((record) => record.msisdn)).size;
  const simCap = capOf(members);
  const findings: RuleFinding[] = [];
  const contextPart = contextOf(members);
  const groupOf = new Map<number, number>();
  identityGroups.forEach((group, i) => group.forEach((record) => groupOf.set(record.recordId, i)));

  if (identityGroups.length > 1) {
    // The evidence that one face carries several identities: the links that cross identity groups.
    const bridges = links.filter(
      (link) => link.kind !== 'document' && groupOf.get(link.recordA) !== groupOf.get(link.recordB),
    );
    const faceBridges = bridges.filter((link) => link.kind === 'face' || link.kind === 'named_face');
    const photoBridges = bridges.filter((link) => link.kind === 'photo');
    const conflict = conflictOf(identityGroups);
    if (faceBridges.length > 0) {
      const best = faceBridges.reduce((a, b) => (a.expectedFalseMatches! <= b.expectedFalseMatches! ? a : b));
      const face = facePart(best, context.gallery);
      findings.push(finding('MULTI_IDENTITY_FACE', recordIds, face, conflict, contextPart));
    }
    if (photoBridges.length > 0) {
      const photo: ScorePart = {
        part: 'photo',
        value: 1,
        text: `One picture (perceptual hash within a few bits) is on ${identityGroups.length} identities.`,
      };
      const photoRecords = new Set(photoBridges.flatMap((link) => [link.recordA, link.recordB]));
      findings.push(
        finding(
          'PHOTO_REUSE',
          [...photoRecords].sort((a, b) => a - b),
          photo,
          conflict,
          contextPart,
        ),
      );
    }
  }

  // The SIM cap: the person's connections, and each document's on its own (as the DoT counts).
  const overDocuments = [...new Set(members.map((record) => record.idHmac))].filter((idHmac) => {
    const all = context.byDocument.get(idHmac) ?? [];
    return new Set(all.map((record) => record.msisdn)).size > capOf(all);
  });
  if (connections > simCap || overDocuments.length > 0) {
    const documentCount = (idHmac: string) => {
      const all = context.byDocument.get(idHmac)!;
      return { count: new Set(all.map((record) => record.msisdn)).size, cap: capOf(all) };
    };
    // One document over the cap needs no face evidence. A person over it only together needs the links that
    // joined different documents, and is as sure as the weakest of them.
    const byDocument = overDocuments.map(documentCount).sort((a, b) => b.count - b.cap - (a.count - a.cap))[0];
    const crossDocument = links.filter(
      (link) =>
        (link.kind === 'face' || link.kind === 'named_face') &&
        context.byId.get(link.recordA)!.idHmac !== context.byId.get(link.recordB)!.idHmac,
    );
    const weakest = crossDocument.reduce<PersonLink | null>(
      (a, b) => (a === null || b.expectedFalseMatches! > a.expectedFalseMatches! ? b : a),
      null,
    );
    const { count, cap } = byDocument ?? { count: connections, cap: simCap };
    const face: ScorePart =
      !byDocument && weakest
        ? facePart(weakest, context.gallery)
        : { part: 'face', value: 1, text: 'Counted on one identity document: no face match needed.' };
    const documents = new Set(members.map((record) => record.idHmac)).size;
    const connectionsPart: ScorePart = {
      part: 'connections',
      value: round(0.5 + 0.5 * Math.min(1, (count - cap) / cap)),
      text:
        `${count} connections against a cap of ${cap}` +
        (byDocument ? ' on one identity document.' : ` across ${documents} identity documents.`),
    };
    findings.push({
      reason: 'SIM_CAP_EXCEEDED',
      recordIds,
      score: round(face.value * (0.6 * connectionsPart.value + 0.25 + 0.15 * contextPart.value)),
      parts: [face, connectionsPart, contextPart],
    });
  }

  // DOCUMENT_REUSE: a document of this person is also on a confidently different face.
  const reused = [...new Set(members.map((record) => record.idHmac))].filter((id) => context.reusedDocuments.has(id));
  if (reused.length > 0) {
    const { closest, groups } = context.reusedDocuments.get(reused[0]!)!;
    const beyond = samePersonBeyond(context.calibration, closest);
    const document: ScorePart = {
      part: 'document',
      value: round(1 - Math.min(1, beyond * 100)),
      text:
        `One identity document is on ${groups.length} different faces: the closest two are ${closest.toFixed(2)} ` +
        `apart, farther than ${formatRate(beyond)} of one person's photo pairs.`,
    };
    const recordsOfDocument = members.filter((record) => reused.includes(record.idHmac)).map((r) => r.recordId);
    findings.push({
      reason: 'DOCUMENT_REUSE',
      recordIds: recordsOfDocument,
      score: round(document.value * (0.75 + 0.25 * contextPart.value)),
      parts: [document, contextPart],
    });
  }

  findings.sort((a, b) => b.score - a.score);
  return {
    recordIds,
    identities: identityGroups.length,
    connections,
    simCap,
    identityGroups: identityGroups.map((group) => group.map((record) => record.recordId)),
    links: links.slice(0, 50),
    findings,
    reasons: [...new Set(findings.map((f) => f.reason))],
    score: findings[0]?.score ?? 0,
  };
}

function finding(
  reason: ReasonCode,
  recordIds: number[],
  evidence: ScorePart,
  conflict: ScorePart,
  context: ScorePart,
): RuleFinding {
  return {
    reason,
    recordIds,
    score: round(evidence.value * (0.6 + 0.25 * conflict.value + 0.15 * context.value)),
    parts: [evidence, conflict, context],
  };
}

/**
 * The face part: the chance that the match is not a coincidence, 1 / (1 + E), where E, the false-match rate
 * at its distance times the gallery size, is how many strangers a search of this gallery would be expected to
 * find that close.
 */
function facePart(link: PersonLink, gallery: number): ScorePart {
  const expected = link.expectedFalseMatches ?? 0;
  const z =
    link.cohortZ === undefined
      ? ''
      : `, ${link.cohortZ.toFixed(1)} standard deviations closer than its usual neighbours`;
  return {
    part: 'face',
    value: round(1 / (1 + expected)),
    text:
      `Faces ${link.distance!.toFixed(2)} apart${z}. In a gallery of ${gallery.toLocaleString('en-IN')} faces, ` +
      `about ${formatExpected(expected)} strangers would be expected that close by chance.`,
  };
}

/** How strongly the identities differ: names, dates of birth and fathers' names across identity groups. */
function conflictOf(groups: SubscriberRecord[][]): ScorePart {
  let nameAlike = 0;
  let dobDiffers = false;
  let fatherDiffers = false;
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      for (const a of groups[i]!) {
        for (const b of groups[j]!) {
          nameAlike = Math.max(nameAlike, nameSimilarity(a.name, b.name));
          if (a.dob && b.dob && a.dob !== b.dob) dobDiffers = true;
          if (a.fatherName && b.fatherName && !namesMatch(a.fatherName, b.fatherName)) fatherDiffers = true;
        }
      }
    }
  }
  const value = round(0.6 * (1 - nameAlike) + 0.2 * Number(dobDiffers) + 0.2 * Number(fatherDiffers));
  const words = [
    `${groups.length} identities (names at most ${Math.round(nameAlike * 100)}% alike)`,
    dobDiffers ? 'dates of birth differ' : 'no conflicting date of birth',
    fatherDiffers ? "fathers' names differ" : "no conflicting father's name",
  ];
  return { part: 'conflict', value, text: `${words.join('; ')}.` };
}

/** Signs of one enrolment operation: one PoS agent, one service area, activations within 30 days. */
function contextOf(members: SubscriberRecord[]): ScorePart {
  if (members.length < 2) return { part: 'context', value: 0, text: 'One record: no enrolment pattern.' };
  const share = (key: (record: SubscriberRecord) => string) => {
    const counts = [...groupBy(members, key).values()].map((group) => group.length);
    return (Math.max(...counts) - 1) / (members.length - 1);
  };
  const agent = share((record) => record.posAgentId);
  const lsa = share((record) => record.lsa);
  const days = members.map((record) => Date.parse(record.activationDate) / 86_400_000).filter(Number.isFinite);
  const span = days.length > 1 ? Math.max(...days) - Math.min(...days) : 0;
  const close = span <= 30 ? 1 : span <= 180 ? 0.5 : 0;
  const value = round((agent + lsa + close) / 3);
  return {
    part: 'context',
    value,
    text:
      `${Math.round(agent * 100)}% through one PoS agent, ${Math.round(lsa * 100)}% in one service area, ` +
      `activations within ${Math.round(span)} days.`,
  };
}

/** Clear enough to call another face a different person (see IdentityPolicy.clearFace); unmeasured counts as clear. */
function isClear(record: SubscriberRecord, policy: IdentityPolicy): boolean {
  const quality = record.faceQuality;
  if (!quality) return true;
  return quality.blur >= policy.clearFace.minBlur && Math.abs(quality.yaw) <= policy.clearFace.maxAbsYaw;
}

/** Same identity: the same document, or matching names whose dates of birth do not contradict each other. */
function sameIdentity(a: SubscriberRecord, b: SubscriberRecord): boolean {
  if (a.idHmac === b.idHmac) return true;
  const dobCompatible = a.dob === null || b.dob === null || a.dob === b.dob;
  return dobCompatible && namesMatch(a.name, b.name);
}

/** Two documents presenting one person: matching names and the same known date of birth. */
function sameNamedPerson(a: SubscriberRecord, b: SubscriberRecord): boolean {
  return a.dob !== null && a.dob === b.dob && namesMatch(a.name, b.name);
}

export function capOf(records: readonly { lsa: string }[]): number {
  return records.some((record) => RESTRICTED_LSAS.has(record.lsa)) ? SIM_CAP_RESTRICTED : SIM_CAP;
}

/** Connected groups under `linked` (single linkage: plausibly one person is a low bar, on purpose). */
function plausibleGroups<T>(items: readonly T[], linked: (a: T, b: T) => boolean): T[][] {
  const groups: T[][] = [];
  for (const item of items) {
    const touching = groups.filter((group) => group.some((other) => linked(item, other)));
    const merged = [item, ...touching.flat()];
    for (const group of touching) groups.splice(groups.indexOf(group), 1);
    groups.push(merged);
  }
  return groups;
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function formatExpected(value: number): string {
  if (value >= 10) return value.toFixed(0);
  if (value >= 0.01) return value.toFixed(2);
  return value.toExponential(0);
}

function formatRate(value: number): string {
  if (value <= 0) return 'all';
  return value < 1e-3 ? `all but ${value.toExponential(0)}` : `${((1 - value) * 100).toFixed(1)}%`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

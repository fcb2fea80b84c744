import { distance } from 'fastest-levenshtein';

/** Reason codes a face cluster can be flagged with (ARCHITECTURE.md). */
export type ReasonCode =
  'MULTI_IDENTITY_FACE' | 'SIM_CAP_EXCEEDED' | 'DOCUMENT_REUSE' | 'PHOTO_REUSE' | 'NO_USABLE_FACE';

/** Connections one person may hold: 9, or 6 in Jammu & Kashmir, Assam and the North East. */
export const SIM_CAP = 9;
export const SIM_CAP_RESTRICTED = 6;
export const RESTRICTED_LSAS: ReadonlySet<string> = new Set(['JK', 'AS', 'NE']);

const HONORIFICS = new Set([
  'mr',
  'mrs',
  'ms',
  'miss',
  'shri',
  'sri',
  'shree',
  'smt',
  'kumari',
  'km',
  'dr',
  'late',
  'sh',
]);
/** Spellings of one name that records use interchangeably. */
const VARIANTS: Record<string, string> = {
  md: 'mohammad',
  mohd: 'mohammad',
  mohammed: 'mohammad',
  mohamed: 'mohammad',
  muhammad: 'mohammad',
  muhammed: 'mohammad',
  mohamad: 'mohammad',
  mohammad: 'mohammad',
};

/**
 * Indian names as comparable tokens: lower case, no punctuation or honorifics, common variants unified
 * (Mohd/Md/Mohammed), doubled letters collapsed (Jaiswaal/Jaiswal), sorted so word order does not matter.
 */
export function nameTokens(name: string): string[] {
  return name
    .toLowerCase()
    .replace(/[^a-z\s]/g, ' ')
    .split(/\s+/)
    .filter((token) => token && !HONORIFICS.has(token))
    .map((token) => VARIANTS[token] ?? token)
    .map((token) => token.replace(/(.)\1+/g, '$1'))
    .sort();
}

/** Similarity of two token strings, 0..1, from their edit distance. */
function similarity(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 1 : 1 - distance(a, b) / longest;
}

/**
 * Whether two names are the same person's, allowing initials ("R K Sharma" = "Ravi Kumar Sharma"), word order,
 * spelling variants and small typos (similarity of the normalised names at least `minSimilarity`).
 */
export function namesMatch(a: string, b: string, minSimilarity = 0.85): boolean {
  const ta = nameTokens(a);
  const tb = nameTokens(b);
  if (ta.length === 0 || tb.length === 0) return false;
  if (similarity(ta.join(' '), tb.join(' ')) >= minSimilarity) return true;
  return initialsMatch(ta, tb, minSimilarity) || initialsMatch(tb, ta, minSimilarity);
}

/**
 * How alike two names are for an analyst, 0..1: the similarity of the normalised names, raised to the match
 * threshold when initials make them the same name ("R K Sharma" and "Ravi Kumar Sharma").
 */
export function nameSimilarity(a: string, b: string, minSimilarity = 0.85): number {
  const ta = nameTokens(a);
  const tb = nameTokens(b);
  if (ta.length === 0 || tb.length === 0) return 0;
  const plain = similarity(ta.join(' '), tb.join(' '));
  if (plain >= minSimilarity) return Math.round(plain * 1000) / 1000;
  const initials = initialsMatch(ta, tb, minSimilarity) || initialsMatch(tb, ta, minSimilarity);
  return initials ? minSimilarity : Math.round(plain * 1000) / 1000;
}

/** Every full word of `short` is in `long`, and each of its initials starts one of the remaining words. */
function initialsMatch(short: string[], long: string[], minSimilarity: number): boolean {
  const words = short.filter((token) => token.length > 1);
  const initials = short.filter((token) => token.length === 1);
  if (words.length === 0 || initials.length === 0) return false;
  const remaining = [...long];
  for (const word of words) {
    const at = remaining.findIndex((token) => similarity(token, word) >= minSimilarity);
    if (at < 0) return false;
    remaining.splice(at, 1);
  }
  return initials.every((initial) => {
    const at = remaining.findIndex((token) => token.startsWith(initial));
    if (at < 0) return false;
    remaining.splice(at, 1);
    return true;
  });
}

export interface ClusterRecord {
  recordId: number;
  msisdn: string;
  name: string;
  dob: string | null;
  /** Hex HMAC of the identity document. */
  idHmac: string;
  lsa: string;
  /** Face clusters holding records with this record's identity document (1: only this face). */
  documentClusters: number;
  /** Distinct identity documents on records whose photo has this record's perceptual hash (1: only its own). */
  photoIdentities: number;
}

/** Same identity: the same document, or matching names whose dates of birth do not contradict each other. */
export function sameIdentity(a: ClusterRecord, b: ClusterRecord): boolean {
  if (a.idHmac === b.idHmac) return true;
  const dobCompatible = a.dob === null || b.dob === null || a.dob === b.dob;
  return dobCompatible && namesMatch(a.name, b.name);
}

export interface ClusterVerdict {
  reasons: ReasonCode[];
  evidence: {
    identities: number;
    connections: number;
    simCap: number;
    /** Record ids grouped by the identity they present. */
    identityGroups: number[][];
    /** Records whose identity document also appears under another face. */
    reusedDocuments: number[];
    /** Records whose photo also appears under another identity. */
    reusedPhotos: number[];
  };
}

/**
 * The rules that apply to one face cluster: one face under several identities (MULTI_IDENTITY_FACE), more
 * connections than the cap of the subscriber's service areas (SIM_CAP_EXCEEDED), one of its documents also
 * under another face (DOCUMENT_REUSE), one of its photos also under another identity (PHOTO_REUSE).
 */
export function judgeCluster(records: readonly ClusterRecord[]): ClusterVerdict {
  const groups: ClusterRecord[][] = [];
  for (const record of records) {
    const group = groups.find((members) => members.some((member) => sameIdentity(member, record)));
    if (group) group.push(record);
    else groups.push([record]);
  }
  const connections = new Set(records.map((record) => record.msisdn)).size;
  const simCap = records.some((record) => RESTRICTED_LSAS.has(record.lsa)) ? SIM_CAP_RESTRICTED : SIM_CAP;
  const reasons: ReasonCode[] = [];
  if (groups.length > 1) reasons.push('MULTI_IDENTITY_FACE');
  if (connections > simCap) reasons.push('SIM_CAP_EXCEEDED');
  const reusedDocuments = records.filter((record) => record.documentClusters > 1).map((record) => record.recordId);
  const reusedPhotos = records.filter((record) => record.photoIdentities > 1).map((record) => record.recordId);
  if (reusedDocuments.length > 0) reasons.push('DOCUMENT_REUSE');
  if (reusedPhotos.length > 0) reasons.push('PHOTO_REUSE');
  return {
    reasons,
    evidence: {
      identities: groups.length,
      connections,
      simCap,
      identityGroups: groups.map((members) => members.map((member) => member.recordId)),
      reusedDocuments,
      reusedPhotos,
    },
  };
}

/**
 * How strongly a flagged cluster suggests fraud, 0..1, for ordering the review queue: several identities on
 * one face weigh most, growing with their number; exceeding the SIM cap adds to it.
 */
export function candidateScore(verdict: ClusterVerdict): number {
  let score = 0;
  if (verdict.reasons.includes('MULTI_IDENTITY_FACE'))
    score += 0.5 + 0.1 * Math.min(4, verdict.evidence.identities - 2);
  if (verdict.reasons.includes('SIM_CAP_EXCEEDED')) score += 0.3;
  if (verdict.reasons.includes('DOCUMENT_REUSE')) score += 0.3;
  if (verdict.reasons.includes('PHOTO_REUSE')) score += 0.2;
  return Math.min(1, Math.round(score * 100) / 100);
}

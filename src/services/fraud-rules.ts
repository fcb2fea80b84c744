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

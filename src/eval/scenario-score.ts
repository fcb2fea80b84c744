import { CAP_BREACH, IDENTITY_FRAUD, LEGITIMATE, type Scenario, type ScenarioCaseKind } from './scenario.js';

/** A block candidate as the scoring needs it (in process, or from GET /v1/block-candidates). */
export interface ScoredCandidate {
  msisdn: string;
  reasons: readonly string[];
  score: number;
}

const IDENTITY_REASONS = new Set(['MULTI_IDENTITY_FACE', 'DOCUMENT_REUSE', 'PHOTO_REUSE']);
/** How many of the queue's top candidates are checked for being real cases. */
export const QUEUE_TOP = 50;

/**
 * Scores what was flagged against the scenario's ground truth, by msisdn:
 * - identity fraud (rings, document reuse): precision and recall of an identity reason;
 * - cap breaches: recall of SIM_CAP_EXCEEDED on the records over the cap, and its precision;
 * - legitimate subscribers (multi-SIM and single-SIM): the share with any candidate;
 * - the queue: candidates by score, and the share of the top 50 that are planted fraud;
 * - photos without a usable face (NO_USABLE_FACE) are kept apart: they are a photo-quality flag.
 */
export function scoreScenario(
  scenario: Scenario,
  candidates: readonly ScoredCandidate[],
  /** msisdns whose photo gave no embedding. */
  withoutFace: ReadonlySet<string> = new Set(),
) {
  const kindOf = new Map(scenario.records.map((record) => [record.row.msisdn, record.kind]));
  const byMsisdn = new Map<string, { reasons: Set<string>; score: number }>();
  for (const candidate of candidates) {
    const entry = byMsisdn.get(candidate.msisdn) ?? { reasons: new Set<string>(), score: 0 };
    for (const reason of candidate.reasons) entry.reasons.add(reason);
    entry.score = Math.max(entry.score, candidate.score);
    byMsisdn.set(candidate.msisdn, entry);
  }
  const reasonsOf = (msisdn: string) => {
    const reasons = new Set(byMsisdn.get(msisdn)?.reasons ?? []);
    reasons.delete('NO_USABLE_FACE');
    return reasons;
  };
  const all = scenario.records.map((record) => record.row.msisdn);
  const ofKinds = (kinds: ReadonlySet<ScenarioCaseKind>) => all.filter((msisdn) => kinds.has(kindOf.get(msisdn)!));
  const hasIdentity = (msisdn: string) => [...reasonsOf(msisdn)].some((reason) => IDENTITY_REASONS.has(reason));
  const hasCap = (msisdn: string) => reasonsOf(msisdn).has('SIM_CAP_EXCEEDED');
  const identityPositives = ofKinds(IDENTITY_FRAUD);
  const identityFlagged = all.filter(hasIdentity);
  const capPositives = ofKinds(CAP_BREACH);
  const capFlagged = all.filter(hasCap);
  const legitimate = ofKinds(LEGITIMATE);
  const legitimateFlagged = legitimate.filter((msisdn) => reasonsOf(msisdn).size > 0);
  const multiSim = ofKinds(new Set(['legitimate_multi_sim']));
  const fraud = (msisdn: string) => {
    const kind = kindOf.get(msisdn);
    return kind !== undefined && !LEGITIMATE.has(kind);
  };
  const queue = [...byMsisdn]
    .filter(([msisdn]) => reasonsOf(msisdn).size > 0)
    .sort((a, b) => b[1].score - a[1].score || a[0].localeCompare(b[0]));
  const top = queue.slice(0, QUEUE_TOP);

  const perKind = Object.fromEntries(
    [...new Set(scenario.records.map((record) => record.kind))].map((kind) => {
      const msisdns = ofKinds(new Set([kind]));
      return [
        kind,
        {
          records: msisdns.length,
          flagged: msisdns.filter((msisdn) => reasonsOf(msisdn).size > 0).length,
          identity_reason: msisdns.filter(hasIdentity).length,
          cap_reason: msisdns.filter(hasCap).length,
          without_face: msisdns.filter((msisdn) => withoutFace.has(msisdn)).length,
        },
      ];
    }),
  );
  const counts: ScenarioCounts = {
    records: all.length,
    identity_positives: identityPositives.length,
    identity_positives_with_face: identityPositives.filter((m) => !withoutFace.has(m)).length,
    identity_found: identityPositives.filter(hasIdentity).length,
    identity_flagged: identityFlagged.length,
    identity_flagged_true: identityFlagged.filter((m) => IDENTITY_FRAUD.has(kindOf.get(m)!)).length,
    cap_positives: capPositives.length,
    cap_found: capPositives.filter(hasCap).length,
    cap_flagged: capFlagged.length,
    cap_flagged_true: capFlagged.filter((m) => CAP_BREACH.has(kindOf.get(m)!)).length,
    legitimate: legitimate.length,
    legitimate_flagged: legitimateFlagged.length,
    multi_sim: multiSim.length,
    multi_sim_flagged: multiSim.filter((m) => reasonsOf(m).size > 0).length,
    queue: queue.length,
    queue_top: top.length,
    queue_top_true: top.filter(([msisdn]) => fraud(msisdn)).length,
    without_face: withoutFace.size,
    no_usable_face_flags: candidates.filter((c) => c.reasons.includes('NO_USABLE_FACE')).length,
  };
  return {
    ...summarise(counts),
    cases: Object.fromEntries(
      [...new Set(scenario.cases.map((c) => c.kind))].map((kind) => [
        kind,
        scenario.cases.filter((c) => c.kind === kind).length,
      ]),
    ),
    queue_first_false: queue.findIndex(([msisdn]) => !fraud(msisdn)) + 1 || null,
    per_kind: perKind,
    counts,
  };
}

/** The raw counts behind a score: they add up over several scenarios (seeds). */
export interface ScenarioCounts {
  records: number;
  identity_positives: number;
  identity_positives_with_face: number;
  identity_found: number;
  identity_flagged: number;
  identity_flagged_true: number;
  cap_positives: number;
  cap_found: number;
  cap_flagged: number;
  cap_flagged_true: number;
  legitimate: number;
  legitimate_flagged: number;
  multi_sim: number;
  multi_sim_flagged: number;
  queue: number;
  queue_top: number;
  queue_top_true: number;
  without_face: number;
  no_usable_face_flags: number;
}

/** Precision, recall and shares from counts (null where there was nothing to measure). */
export function summarise(c: ScenarioCounts) {
  const ratio = (n: number, d: number) => (d === 0 ? null : round(n / d));
  return {
    records: c.records,
    identity_fraud: {
      positives: c.identity_positives,
      flagged: c.identity_flagged,
      precision: ratio(c.identity_flagged_true, c.identity_flagged),
      recall: ratio(c.identity_found, c.identity_positives),
      recall_with_face: ratio(c.identity_found, c.identity_positives_with_face),
    },
    cap_breach: {
      positives: c.cap_positives,
      flagged: c.cap_flagged,
      precision: ratio(c.cap_flagged_true, c.cap_flagged),
      recall: ratio(c.cap_found, c.cap_positives),
    },
    legitimate: {
      records: c.legitimate,
      flagged: c.legitimate_flagged,
      share_flagged: ratio(c.legitimate_flagged, c.legitimate),
      multi_sim_records: c.multi_sim,
      multi_sim_flagged: c.multi_sim_flagged,
    },
    queue: { candidates: c.queue, top: c.queue_top, top_precision: ratio(c.queue_top_true, c.queue_top) },
    photo_quality: { without_face: c.without_face, no_usable_face_flags: c.no_usable_face_flags },
  };
}

/** Counts of several scenarios added up. */
export function addCounts(all: readonly ScenarioCounts[]): ScenarioCounts {
  const total = { ...all[0]! };
  for (const counts of all.slice(1))
    for (const key of Object.keys(total) as (keyof ScenarioCounts)[]) total[key] += counts[key];
  return total;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

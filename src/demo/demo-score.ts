/** What the demo planted, and how the scoring groups it. */
export type CaseKind =
  | 'ring'
  | 'sim_cap'
  | 'document_reuse'
  | 'photo_reuse'
  | 'no_usable_face'
  | 'distinct_people'
  | 'few_sims'
  | 'ordinary';

/** One planted case: fraud that must be found (`expected` set), or records that must not be flagged (null). */
export interface PlantedCase {
  id: string;
  kind: CaseKind;
  /** One line for the report, e.g. "one face under 5 names and documents (AIRTEL, JIO; photos recropped, grey)". */
  title: string;
  /** The reason every record of the case must be flagged with; null for traps and ordinary subscribers. */
  expected: string | null;
  msisdns: string[];
}

/** A block candidate as GET /v1/block-candidates returns it (the fields the scoring needs). */
export interface CandidateView {
  msisdn: string;
  reasons: string[];
  clusterId: number | null;
}

export interface CaseResult {
  case: PlantedCase;
  /** Records of the case with any block candidate. */
  flagged: number;
  /** Records flagged with the expected reason. */
  withExpected: number;
  /** Every reason on the case's candidates. */
  reasons: string[];
  clusters: number[];
  outcome: 'found' | 'partial' | 'missed' | 'clean' | 'false_alarm';
}

export interface DemoScore {
  results: CaseResult[];
  /** Candidates on records that should not have been flagged (traps and ordinary subscribers). */
  falseAlarms: { caseId: string; kind: CaseKind; msisdn: string; reasons: string[] }[];
  /** Candidates on numbers the demo did not plant (none expected in a fresh database). */
  unknown: CandidateView[];
  planted: number;
  found: number;
  /** Every planted case found and no false alarm. */
  ok: boolean;
}

/**
 * Scores what the API flagged against the demo's ground truth, by msisdn. A planted case is found only when
 * every one of its records carries the expected reason; a trap or ordinary record with any candidate is a false
 * alarm.
 */
export function scoreDemo(cases: readonly PlantedCase[], candidates: readonly CandidateView[]): DemoScore {
  const byMsisdn = new Map<string, { reasons: Set<string>; clusters: Set<number> }>();
  for (const candidate of candidates) {
    const entry = byMsisdn.get(candidate.msisdn) ?? { reasons: new Set<string>(), clusters: new Set<number>() };
    for (const reason of candidate.reasons) entry.reasons.add(reason);
    if (candidate.clusterId !== null) entry.clusters.add(candidate.clusterId);
    byMsisdn.set(candidate.msisdn, entry);
  }
  const planted = new Set(cases.flatMap((c) => c.msisdns));
  const results: CaseResult[] = [];
  const falseAlarms: DemoScore['falseAlarms'] = [];
  for (const plantedCase of cases) {
    const reasons = new Set<string>();
    const clusters = new Set<number>();
    let flagged = 0;
    let withExpected = 0;
    for (const msisdn of plantedCase.msisdns) {
      const entry = byMsisdn.get(msisdn);
      if (!entry || entry.reasons.size === 0) continue;
      flagged++;
      for (const reason of entry.reasons) reasons.add(reason);
      for (const cluster of entry.clusters) clusters.add(cluster);
      if (plantedCase.expected !== null && entry.reasons.has(plantedCase.expected)) withExpected++;
      if (plantedCase.expected === null) {
        falseAlarms.push({
          caseId: plantedCase.id,
          kind: plantedCase.kind,
          msisdn,
          reasons: [...entry.reasons].sort(),
        });
      }
    }
    const total = plantedCase.msisdns.length;
    const outcome: CaseResult['outcome'] =
      plantedCase.expected === null
        ? flagged === 0
          ? 'clean'
          : 'false_alarm'
        : withExpected === total && total > 0
          ? 'found'
          : withExpected > 0
            ? 'partial'
            : 'missed';
    results.push({
      case: plantedCase,
      flagged,
      withExpected,
      reasons: [...reasons].sort(),
      clusters: [...clusters].sort((a, b) => a - b),
      outcome,
    });
  }
  const unknown = candidates.filter((candidate) => !planted.has(candidate.msisdn));
  const plantedCount = results.filter((r) => r.case.expected !== null).length;
  const found = results.filter((r) => r.outcome === 'found').length;
  return {
    results,
    falseAlarms,
    unknown,
    planted: plantedCount,
    found,
    ok: found === plantedCount && falseAlarms.length === 0,
  };
}

const KIND_LABEL: Record<CaseKind, string> = {
  ring: 'ring',
  sim_cap: 'SIM cap',
  document_reuse: 'document reuse',
  photo_reuse: 'photo reuse',
  no_usable_face: 'no usable face',
  distinct_people: 'trap: people',
  few_sims: 'trap: few SIMs',
  ordinary: 'ordinary',
};

/** The report table: planted cases one per line, traps one per line, ordinary subscribers summed in one line. */
export function formatScore(score: DemoScore): string[] {
  const lines: string[] = [];
  const row = (kind: string, records: string, outcome: string, reasons: string, title: string) =>
    `  ${kind.padEnd(16)}${records.padStart(7)}  ${outcome.padEnd(13)}${reasons.padEnd(52)}${title}`;
  lines.push(row('case', 'records', 'result', 'reasons fired', 'what was planted'));
  const planted = score.results.filter((r) => r.case.expected !== null);
  const traps = score.results.filter((r) => r.case.expected === null && r.case.kind !== 'ordinary');
  const ordinary = score.results.filter((r) => r.case.kind === 'ordinary');
  for (const result of planted) {
    const total = result.case.msisdns.length;
    const outcome =
      result.outcome === 'found'
        ? 'FOUND'
        : result.outcome === 'partial'
          ? `PARTIAL ${result.withExpected}/${total}`
          : 'MISSED';
    lines.push(
      row(KIND_LABEL[result.case.kind], String(total), outcome, result.reasons.join(',') || '-', result.case.title),
    );
  }
  for (const result of traps) {
    const outcome = result.outcome === 'clean' ? 'not flagged' : `FLAGGED ${result.flagged}`;
    lines.push(
      row(
        KIND_LABEL[result.case.kind],
        String(result.case.msisdns.length),
        outcome,
        result.reasons.join(',') || '-',
        result.case.title,
      ),
    );
  }
  if (ordinary.length > 0) {
    const records = ordinary.reduce((sum, r) => sum + r.case.msisdns.length, 0);
    const flagged = ordinary.reduce((sum, r) => sum + r.flagged, 0);
    const reasons = [...new Set(ordinary.flatMap((r) => r.reasons))].sort();
    lines.push(
      row(
        'ordinary',
        String(records),
        flagged === 0 ? 'not flagged' : `FLAGGED ${flagged}`,
        reasons.join(',') || '-',
        `${ordinary.length} ordinary subscribers, 1-6 connections each under their own name`,
      ),
    );
  }
  return lines;
}

import { describe, expect, it } from 'vitest';
import { formatScore, scoreDemo, type CandidateView, type PlantedCase } from '../../src/demo/demo-score.js';

const cases: PlantedCase[] = [
  {
    id: 'ring-1',
    kind: 'ring',
    title: 'ring',
    expected: 'MULTI_IDENTITY_FACE',
    msisdns: ['+919000000001', '+919000000002'],
  },
  {
    id: 'sim_cap-1',
    kind: 'sim_cap',
    title: 'cap',
    expected: 'SIM_CAP_EXCEEDED',
    msisdns: ['+919000000011', '+919000000012'],
  },
  { id: 'photo_reuse-1', kind: 'photo_reuse', title: 'photo', expected: 'PHOTO_REUSE', msisdns: ['+919000000021'] },
  { id: 'distinct_people-1', kind: 'distinct_people', title: 'people', expected: null, msisdns: ['+919000000031'] },
  { id: 'ordinary-1', kind: 'ordinary', title: 'A', expected: null, msisdns: ['+919000000041', '+919000000042'] },
];

/** Candidates as GET /v1/block-candidates would list them. */
const candidate = (msisdn: string, reasons: string[], clusterId: number | null = 1): CandidateView => ({
  msisdn,
  reasons,
  clusterId,
});

describe('scoreDemo', () => {
  it('finds a case only when every record carries the expected reason', () => {
    const score = scoreDemo(cases, [
      candidate('+919000000001', ['MULTI_IDENTITY_FACE', 'PHOTO_REUSE'], 7),
      candidate('+919000000002', ['MULTI_IDENTITY_FACE'], 7),
      // Only one of the two SIM-cap numbers, and with another reason: partial.
      candidate('+919000000011', ['SIM_CAP_EXCEEDED'], 8),
      candidate('+919000000012', ['DOCUMENT_REUSE'], 9),
    ]);
    const outcome = Object.fromEntries(score.results.map((r) => [r.case.id, r.outcome]));
    expect(outcome).toEqual({
      'ring-1': 'found',
      'sim_cap-1': 'partial',
      'photo_reuse-1': 'missed',
      'distinct_people-1': 'clean',
      'ordinary-1': 'clean',
    });
    expect(score.results[0]!.reasons).toEqual(['MULTI_IDENTITY_FACE', 'PHOTO_REUSE']);
    expect(score.results[0]!.clusters).toEqual([7]);
    expect(score.planted).toBe(3);
    expect(score.found).toBe(1);
    expect(score.ok).toBe(false);
  });

  it('counts any candidate on a trap or ordinary record as a false alarm, and merges rows per number', () => {
    const all = cases
      .filter((c) => c.expected !== null)
      .flatMap((c) => c.msisdns.map((msisdn) => candidate(msisdn, [c.expected!])));
    expect(scoreDemo(cases, all).ok).toBe(true);

    const score = scoreDemo(cases, [
      ...all,
      candidate('+919000000042', ['MULTI_IDENTITY_FACE'], 3),
      candidate('+919000000042', ['NO_USABLE_FACE'], null),
      candidate('+919999999999', ['PHOTO_REUSE'], 4),
    ]);
    expect(score.ok).toBe(false);
    expect(score.found).toBe(3);
    expect(score.falseAlarms).toEqual([
      {
        caseId: 'ordinary-1',
        kind: 'ordinary',
        msisdn: '+919000000042',
        reasons: ['MULTI_IDENTITY_FACE', 'NO_USABLE_FACE'],
      },
    ]);
    expect(score.unknown.map((c) => c.msisdn)).toEqual(['+919999999999']);
    const table = formatScore(score).join('\n');
    expect(table).toMatch(/ring\s+2\s+FOUND/);
    expect(table).toMatch(/ordinary\s+2\s+FLAGGED 1/);
    expect(table).toMatch(/trap: people\s+1\s+not flagged/);
  });
});

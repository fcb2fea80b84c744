import { describe, expect, it } from 'vitest';
import { namesMatch, nameTokens } from '../../src/services/fraud-rules.js';
import { resolvePersons, type SubscriberRecord } from '../../src/services/rules/identity-graph.js';
import { TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';

describe('namesMatch', () => {
  it.each([
    ['Mohd Imran Khan', 'Mohammed Imran Khan'],
    ['Md. Imran Khan', 'Muhammad Imran Khan'],
    ['Ravi Kumar Sharma', 'R K Sharma'],
    ['Sharma Ravi Kumar', 'Ravi Kumar Sharma'],
    ['Shri Suresh Jaiswaal', 'Suresh Jaiswal'],
    ['Smt. Lakshmi Iyer', 'LAKSHMI IYER'],
    ['Priya Reddy', 'Priya Redy'],
    ['Gurpreet Singh', 'Gurpreet  Singh'],
  ])('%s = %s', (a, b) => {
    expect(namesMatch(a, b)).toBe(true);
  });

  it.each([
    ['Ravi Kumar Sharma', 'Rohit Verma'],
    ['Priya Reddy', 'Priya Nair'],
    ['Mohd Imran Khan', 'Mohd Irfan Ansari'],
    ['R K Sharma', 'Suresh Kumar Sharma'],
    ['Anita Das', 'Sunita Bose'],
    ['Arjun Singh', 'Harpreet Kaur'],
  ])('%s != %s', (a, b) => {
    expect(namesMatch(a, b)).toBe(false);
  });

  it('normalises honorifics, variants, doubled letters and order', () => {
    expect(nameTokens('Dr. Mohd  Jaiswaal,  Aamir')).toEqual(['amir', 'jaiswal', 'mohamad']);
  });
});

const record = (recordId: number, name: string, overrides: Partial<SubscriberRecord> = {}): SubscriberRecord => ({
  recordId,
  msisdn: `+9198765432${String(recordId).padStart(2, '0')}`,
  name,
  fatherName: null,
  dob: '1990-01-01',
  idHmac: `doc-${recordId}`,
  lsa: 'DL',
  posAgentId: 'POS-1',
  activationDate: '2025-01-01',
  faceId: recordId,
  ...overrides,
});

/**
 * The rules on records whose faces are all the same face (distance 0.2, an unmistakable match in a gallery of
 * these records), and `photoLinks` between records that share one picture.
 */
function judge(records: SubscriberRecord[], photoLinks: [number, number][] = []) {
  const persons = resolvePersons(
    {
      records,
      faceLinks: records.flatMap((a, i) =>
        records.slice(i + 1).map((b) => ({ faceA: a.faceId!, faceB: b.faceId!, distance: 0.2 })),
      ),
      distance: () => 0.2,
      photoLinks,
      cohort: () => null,
      galleryFaces: records.length,
    },
    TEST_IDENTITY_POLICY,
  );
  expect(persons).toHaveLength(1);
  return persons[0]!;
}

describe('the rules on one face', () => {
  it('flags one face under several identities', () => {
    const person = judge([record(1, 'Ravi Sharma'), record(2, 'Imran Khan'), record(3, 'R Sharma')]);
    expect(person.reasons).toEqual(['MULTI_IDENTITY_FACE']);
    expect(person.identityGroups).toEqual([[1, 3], [2]]);
  });

  it('does not flag one person with several connections under the cap', () => {
    const records = [1, 2, 3].map((n) => record(n, 'Ravi Sharma', { idHmac: 'same-doc' }));
    expect(judge(records).reasons).toEqual([]);
  });

  it('treats the same document as the same identity whatever the name, and differing dobs as different', () => {
    expect(judge([record(1, 'Ravi Sharma', { idHmac: 'd' }), record(2, 'X Y', { idHmac: 'd' })]).reasons).toEqual([]);
    expect(judge([record(1, 'Ravi Sharma'), record(2, 'Ravi Sharma', { dob: '1970-05-05' })]).reasons).toEqual([
      'MULTI_IDENTITY_FACE',
    ]);
  });

  it('applies the SIM cap: 9, or 6 when any connection is in JK, AS or NE', () => {
    const same = (n: number, lsa = 'DL') => record(n, 'Ravi Sharma', { idHmac: 'same', lsa });
    expect(judge(Array.from({ length: 9 }, (_, i) => same(i + 1))).reasons).toEqual([]);
    expect(judge(Array.from({ length: 10 }, (_, i) => same(i + 1))).reasons).toEqual(['SIM_CAP_EXCEEDED']);
    const sevenInAssam = Array.from({ length: 7 }, (_, i) => same(i + 1, i === 0 ? 'AS' : 'DL'));
    expect(judge(sevenInAssam)).toMatchObject({ reasons: ['SIM_CAP_EXCEEDED'], simCap: 6 });
  });

  it('flags one picture under several identities as PHOTO_REUSE, on the records that share it', () => {
    const person = judge(
      [record(1, 'Ravi Sharma'), record(2, 'Imran Khan'), record(3, 'Ravi Sharma', { idHmac: 'doc-1' })],
      [[1, 2]],
    );
    expect(person.reasons).toEqual(['MULTI_IDENTITY_FACE', 'PHOTO_REUSE']);
    expect(person.findings.find((finding) => finding.reason === 'PHOTO_REUSE')!.recordIds).toEqual([1, 2]);
  });

  it('scores more conflicting identities and an enrolment pattern higher, within 0..1', () => {
    const agent = (recordId: number, name: string, posAgentId: string, dob: string) =>
      record(recordId, name, { posAgentId, dob, activationDate: `2025-01-0${recordId}` });
    const ring = judge([
      agent(1, 'Ravi Sharma', 'POS-13', '1980-01-01'),
      agent(2, 'Imran Khan', 'POS-13', '1991-02-02'),
    ]);
    const spread = judge([
      record(1, 'Ravi Sharma', { posAgentId: 'POS-1', lsa: 'DL', activationDate: '2021-01-01' }),
      record(2, 'Ravi Sharman', { posAgentId: 'POS-2', lsa: 'MH', activationDate: '2025-01-01', dob: '1990-01-02' }),
    ]);
    expect(ring.score).toBeGreaterThan(spread.score);
    for (const score of [ring.score, spread.score]) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });
});

import { describe, expect, it } from 'vitest';
import {
  candidateScore,
  judgeCluster,
  namesMatch,
  nameTokens,
  type ClusterRecord,
} from '../../src/services/fraud-rules.js';

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

const record = (recordId: number, name: string, overrides: Partial<ClusterRecord> = {}): ClusterRecord => ({
  recordId,
  msisdn: `+9198765432${String(recordId).padStart(2, '0')}`,
  name,
  dob: '1990-01-01',
  idHmac: `doc-${recordId}`,
  lsa: 'DL',
  documentClusters: 1,
  photoIdentities: 1,
  ...overrides,
});

describe('judgeCluster', () => {
  it('flags one face under several identities', () => {
    const verdict = judgeCluster([record(1, 'Ravi Sharma'), record(2, 'Imran Khan'), record(3, 'R Sharma')]);
    expect(verdict.reasons).toEqual(['MULTI_IDENTITY_FACE']);
    expect(verdict.evidence.identityGroups).toEqual([[1, 3], [2]]);
  });

  it('does not flag one person with several connections under the cap', () => {
    const records = [1, 2, 3].map((n) => record(n, 'Ravi Sharma', { idHmac: 'same-doc' }));
    expect(judgeCluster(records).reasons).toEqual([]);
  });

  it('treats the same document as the same identity whatever the name, and differing dobs as different', () => {
    expect(
      judgeCluster([record(1, 'Ravi Sharma', { idHmac: 'd' }), record(2, 'X Y', { idHmac: 'd' })]).reasons,
    ).toEqual([]);
    expect(judgeCluster([record(1, 'Ravi Sharma'), record(2, 'Ravi Sharma', { dob: '1970-05-05' })]).reasons).toEqual([
      'MULTI_IDENTITY_FACE',
    ]);
  });

  it('applies the SIM cap: 9, or 6 when any connection is in JK, AS or NE', () => {
    const same = (n: number, lsa = 'DL') => record(n, 'Ravi Sharma', { idHmac: 'same', lsa });
    expect(judgeCluster(Array.from({ length: 9 }, (_, i) => same(i + 1))).reasons).toEqual([]);
    expect(judgeCluster(Array.from({ length: 10 }, (_, i) => same(i + 1))).reasons).toEqual(['SIM_CAP_EXCEEDED']);
    const sevenInAssam = Array.from({ length: 7 }, (_, i) => same(i + 1, i === 0 ? 'AS' : 'DL'));
    expect(judgeCluster(sevenInAssam)).toMatchObject({ reasons: ['SIM_CAP_EXCEEDED'], evidence: { simCap: 6 } });
  });
});

describe('reuse rules', () => {
  it('flags a document seen under another face, and a photo seen under another identity', () => {
    const verdict = judgeCluster([
      record(1, 'Ravi Sharma', { idHmac: 'd', documentClusters: 2 }),
      record(2, 'Ravi Sharma', { idHmac: 'd', photoIdentities: 3 }),
    ]);
    expect(verdict.reasons).toEqual(['DOCUMENT_REUSE', 'PHOTO_REUSE']);
    expect(verdict.evidence).toMatchObject({ reusedDocuments: [1], reusedPhotos: [2] });
    expect(candidateScore(verdict)).toBe(0.5);
  });
});

describe('candidateScore', () => {
  const verdict = (reasons: ReturnType<typeof judgeCluster>['reasons'], identities: number) => ({
    reasons,
    evidence: {
      identities,
      connections: identities,
      simCap: 9,
      identityGroups: [],
      reusedDocuments: [],
      reusedPhotos: [],
    },
  });

  it('ranks more identities and a broken SIM cap higher, within 0..1', () => {
    expect(candidateScore(verdict([], 1))).toBe(0);
    expect(candidateScore(verdict(['MULTI_IDENTITY_FACE'], 2))).toBe(0.5);
    expect(candidateScore(verdict(['MULTI_IDENTITY_FACE'], 4))).toBe(0.7);
    expect(candidateScore(verdict(['MULTI_IDENTITY_FACE', 'SIM_CAP_EXCEEDED'], 12))).toBe(1);
    expect(candidateScore(verdict(['SIM_CAP_EXCEEDED'], 1))).toBe(0.3);
  });
});

import { describe, expect, it } from 'vitest';
import { ExactIndex } from '../../src/services/clustering/face-clusterer.js';
import type { IdentityPolicy, SubscriberRecord } from '../../src/services/rules/identity-graph.js';
import { personCandidates, resolveInGallery } from '../../src/services/rules/person-rules.js';
import { TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';
import { FaceSpace, nameOf } from '../helpers/face-space.js';

/** A gallery of records with faces, and the identity graph's input over all of them. */
class Gallery {
  readonly records: SubscriberRecord[] = [];
  private readonly vectors = new Map<number, Float32Array>();
  private readonly index = new ExactIndex('euclidean');

  add(record: Partial<SubscriberRecord> & { name: string; idHmac: string }, vector: Float32Array | null): number {
    const recordId = this.records.length + 1;
    const faceId = vector ? recordId : null;
    this.records.push({
      recordId,
      msisdn: `+9198${String(recordId).padStart(8, '0')}`,
      fatherName: null,
      dob: null,
      lsa: 'DL',
      posAgentId: `POS-${recordId}`,
      activationDate: '2025-01-01',
      faceId,
      ...record,
    });
    if (vector && faceId !== null) {
      this.vectors.set(faceId, vector);
      this.index.add(faceId, vector);
    }
    return recordId;
  }

  /** Strangers with one SIM each, so every face has a neighbourhood as in a real gallery. */
  addStrangers(space: FaceSpace, count: number) {
    for (let i = 0; i < count; i++) this.add({ name: nameOf(1000 + i), idHmac: `stranger-${i}` }, space.stranger());
  }

  resolve(policy: IdentityPolicy = TEST_IDENTITY_POLICY) {
    const gallery = {
      metric: 'euclidean' as const,
      size: this.index.size,
      vectorOf: (faceId: number) => this.vectors.get(faceId),
      searchMany: (vectors: readonly Float32Array[], k: number) => this.index.searchMany(vectors, k),
    };
    const persons = resolveInGallery(this.records, gallery, policy);
    const candidates = new Map(personCandidates(persons).map((candidate) => [candidate.recordId, candidate]));
    return {
      persons,
      reasonsOf: (recordId: number) => [...(candidates.get(recordId)?.reasons ?? [])].sort(),
      personOf: (recordId: number) => persons.find((person) => person.recordIds.includes(recordId))!,
    };
  }
}

describe('identity graph', () => {
  it('keeps one person whose photos are far apart as one subscriber: no DOCUMENT_REUSE, the cap still counted', () => {
    const space = new FaceSpace(1);
    const gallery = new Gallery();
    gallery.addStrangers(space, 60);
    // Seven SIMs in JK (cap 6) on one name and document, photos 0.55 apart: too far for one face cluster.
    const person = space.stranger();
    const ids = Array.from({ length: 7 }, () =>
      gallery.add({ name: 'Rahul Sharma', idHmac: 'doc-rahul', lsa: 'JK' }, space.around(person, 0.55)),
    );
    const { reasonsOf, personOf } = gallery.resolve();
    for (const id of ids) expect(reasonsOf(id)).toEqual(['SIM_CAP_EXCEEDED']);
    expect(personOf(ids[0]!).recordIds).toEqual(ids);
    expect(personOf(ids[0]!).connections).toBe(7);
    // One document over the cap needs no face evidence.
    expect(personOf(ids[0]!).findings[0]!.parts[0]).toMatchObject({ part: 'face', value: 1 });
  });

  it('flags one document on two confidently different faces as DOCUMENT_REUSE, and only those records', () => {
    const space = new FaceSpace(2);
    const gallery = new Gallery();
    gallery.addStrangers(space, 60);
    const owner = gallery.add({ name: 'Sunita Devi', idHmac: 'doc-sunita' }, space.stranger());
    const borrower = gallery.add({ name: 'Sunita Devi', idHmac: 'doc-sunita' }, space.stranger());
    // One person, one document, two photos: a legitimate second SIM.
    const face = space.stranger();
    const legitimate = [
      gallery.add({ name: 'Imran Khan', idHmac: 'doc-imran' }, space.around(face, 0.45)),
      gallery.add({ name: 'Imran Khan', idHmac: 'doc-imran' }, space.around(face, 0.45)),
    ];
    const { reasonsOf, personOf, persons } = gallery.resolve();
    expect(reasonsOf(owner)).toEqual(['DOCUMENT_REUSE']);
    expect(reasonsOf(borrower)).toEqual(['DOCUMENT_REUSE']);
    // Two people, so two subscribers, each with the document's finding and its words.
    expect(personOf(owner)).not.toBe(personOf(borrower));
    const finding = personOf(owner).findings[0]!;
    expect(finding.parts.find((part) => part.part === 'document')!.text).toMatch(/2 different faces/);
    for (const id of legitimate) expect(reasonsOf(id)).toEqual([]);
    expect(persons.filter((person) => person.reasons.length > 0)).toHaveLength(2);
  });

  it('does not call a blurred or turned face a different person under one document', () => {
    const space = new FaceSpace(7);
    const gallery = new Gallery();
    gallery.addStrangers(space, 60);
    const sharp = { blur: 240, yaw: 5 };
    const a = gallery.add({ name: 'Asha Verma', idHmac: 'doc-asha', faceQuality: sharp }, space.stranger());
    const blurred = gallery.add(
      { name: 'Asha Verma', idHmac: 'doc-asha', faceQuality: { blur: 20, yaw: 5 } },
      space.stranger(),
    );
    const turned = gallery.add(
      { name: 'Asha Verma', idHmac: 'doc-asha', faceQuality: { blur: 240, yaw: 55 } },
      space.stranger(),
    );
    const { reasonsOf, personOf } = gallery.resolve();
    for (const id of [a, blurred, turned]) expect(reasonsOf(id)).toEqual([]);
    expect(personOf(a).recordIds).toEqual([a, blurred, turned]);
    // With no quality bar the same faces are confidently different people.
    expect(gallery.resolve({ ...TEST_IDENTITY_POLICY, clearFace: { minBlur: 0, maxAbsYaw: 90 } }).reasonsOf(a)).toEqual(
      ['DOCUMENT_REUSE'],
    );
  });

  it('does not flag look-alike strangers in a dense neighbourhood, which a bare distance threshold would', () => {
    const space = new FaceSpace(3);
    const gallery = new Gallery();
    gallery.addStrangers(space, 40);
    // 40 different people, one SIM each, crowded around one point of face space (pairs about 0.42 apart).
    const crowd = space.stranger();
    const lookAlikes = Array.from({ length: 40 }, (_, i) =>
      gallery.add({ name: nameOf(i), idHmac: `alike-${i}` }, space.around(crowd, 0.42)),
    );
    const flagged = (policy?: IdentityPolicy) => {
      const { reasonsOf } = gallery.resolve(policy);
      return lookAlikes.filter((id) => reasonsOf(id).includes('MULTI_IDENTITY_FACE')).length;
    };
    expect(flagged()).toBe(0);
    // Without the neighbourhood test the closest of them pass the gallery-size test alone: the test above can fail.
    expect(flagged({ ...TEST_IDENTITY_POLICY, minCohortZ: 0 })).toBeGreaterThan(0);
  });

  it('flags a ring: one face under several names and documents, with the face evidence in words', () => {
    const space = new FaceSpace(4);
    const gallery = new Gallery();
    gallery.addStrangers(space, 60);
    const face = space.stranger();
    const ring = ['Amit Verma', 'Kiran Rao', 'Joseph Dsouza'].map((name, i) =>
      gallery.add({ name, idHmac: `ring-${i}`, posAgentId: 'POS-13' }, space.around(face, 0.3)),
    );
    const { reasonsOf, personOf } = gallery.resolve();
    for (const id of ring) expect(reasonsOf(id)).toEqual(['MULTI_IDENTITY_FACE']);
    const person = personOf(ring[0]!);
    expect(person.identities).toBe(3);
    const parts = person.findings[0]!.parts;
    expect(parts.map((part) => part.part)).toEqual(['face', 'conflict', 'context']);
    expect(parts[0]!.text).toMatch(/gallery of 63 faces/);
    expect(parts[2]!.value).toBeGreaterThan(0.3);
    expect(person.score).toBeGreaterThan(0.6);
  });

  it('counts a cap breach across two documents with one face and one name', () => {
    const space = new FaceSpace(5);
    const gallery = new Gallery();
    gallery.addStrangers(space, 60);
    const face = space.stranger();
    const identity = { name: 'Mohd Salim', dob: '1980-02-03', lsa: 'JK' };
    // 4 SIMs on an Aadhaar and 3 on a PAN: each document is under the cap of 6, the person is over it.
    const ids = [
      ...Array.from({ length: 4 }, () => gallery.add({ ...identity, idHmac: 'aadhaar' }, space.around(face, 0.4))),
      ...Array.from({ length: 3 }, () =>
        gallery.add({ ...identity, name: 'Mohammed Salim', idHmac: 'pan' }, space.around(face, 0.4)),
      ),
    ];
    const { reasonsOf, personOf } = gallery.resolve();
    for (const id of ids) expect(reasonsOf(id)).toEqual(['SIM_CAP_EXCEEDED']);
    expect(personOf(ids[0]!).connections).toBe(7);
    expect(personOf(ids[0]!).identities).toBe(1);
    // Over the cap only together: the score rests on the face links that joined the two documents.
    const [facePart, connections] = personOf(ids[0]!).findings[0]!.parts;
    expect(connections!.text).toBe('7 connections against a cap of 6 across 2 identity documents.');
    expect(facePart!.text).toMatch(/^Faces 0\.\d\d apart/);
  });

  it('counts one document over the cap even when its faces are different people', () => {
    const space = new FaceSpace(6);
    const gallery = new Gallery();
    gallery.addStrangers(space, 30);
    const ids = Array.from({ length: 10 }, () =>
      gallery.add({ name: 'Ravi Kumar', idHmac: 'doc-ravi' }, space.stranger()),
    );
    const { reasonsOf } = gallery.resolve();
    for (const id of ids) expect(reasonsOf(id)).toEqual(['DOCUMENT_REUSE', 'SIM_CAP_EXCEEDED']);
  });
});

import { describe, expect, it } from 'vitest';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';

const at = (...values: number[]) => Float32Array.from(values);

describe('FaceVectorStore', () => {
  it('returns each stored descriptor and cluster by face id, and nothing for an unknown face', () => {
    const store = new FaceVectorStore();
    store.add(7, at(1, 2, 3), 70);
    store.add(3, at(4, 5, 6));
    expect(store.size).toBe(2);
    expect([...store.vectorOf(7)!]).toEqual([1, 2, 3]);
    expect([...store.vectorOf(3)!]).toEqual([4, 5, 6]);
    expect(store.clusterOf(7)).toBe(70);
    expect(store.clusterOf(3)).toBeUndefined();
    expect(store.vectorOf(5)).toBeUndefined();
    expect(store.clusterOf(5)).toBeUndefined();
    expect(store.has(5)).toBe(false);
    expect(store.slotOf(5)).toBe(-1);
  });

  it('keeps a copy: changing the caller’s array afterwards changes nothing', () => {
    const store = new FaceVectorStore();
    const vector = at(1, 1);
    store.add(1, vector);
    vector[0] = 9;
    expect([...store.vectorOf(1)!]).toEqual([1, 1]);
  });

  it('keeps every face intact across pages and hash growth, with ids far apart and beyond 32 bits', () => {
    const store = new FaceVectorStore(3);
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 2 === 0 ? i * 7919 : 2 ** 40 + i));
    ids.forEach((faceId, i) => store.add(faceId, at(i, -i), i % 11));
    expect(store.size).toBe(ids.length);
    ids.forEach((faceId, i) => {
      expect(store.slotOf(faceId)).toBe(i);
      expect(store.faceIdAt(i)).toBe(faceId);
      expect([...store.vectorOf(faceId)!]).toEqual([i, -i]);
      expect(store.clusterOf(faceId)).toBe(i % 11);
    });
    expect(store.has(2 ** 40 + 2)).toBe(false);
  });

  it('moves a face to another cluster without touching the others', () => {
    const store = new FaceVectorStore(2);
    for (let faceId = 1; faceId <= 5; faceId++) store.add(faceId, at(faceId), 1);
    store.setCluster(4, 9);
    expect([1, 2, 3, 4, 5].map((faceId) => store.clusterOf(faceId))).toEqual([1, 1, 1, 9, 1]);
    expect(() => store.setCluster(6, 1)).toThrow(/not stored/);
  });

  it('refuses a second copy of a face, another descriptor length and a non-integer id', () => {
    const store = new FaceVectorStore();
    store.add(1, at(0, 0));
    expect(() => store.add(1, at(1, 1))).toThrow(/stored already/);
    expect(() => store.add(2, at(1, 1, 1))).toThrow(/length 3/);
    expect(() => store.add(1.5, at(1, 1))).toThrow(/not an integer/);
    expect(store.size).toBe(1);
  });
});

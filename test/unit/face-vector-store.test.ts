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

  it('finds every face and no other, whatever pattern the ids come in', () => {
    // Runs of consecutive ids share buckets (see hashOf): dense ranges, strides of the run and of the table,
    // negative ids and ids near 2^53 must all be found, and their neighbours not.
    const patterns = [
      Array.from({ length: 3000 }, (_, i) => i),
      Array.from({ length: 3000 }, (_, i) => i * 16),
      Array.from({ length: 3000 }, (_, i) => i * 8192),
      Array.from({ length: 3000 }, (_, i) => Math.floor(i / 16) * 1024 + (i % 16)),
      Array.from({ length: 3000 }, (_, i) => i - 1500),
      Array.from({ length: 3000 }, (_, i) => Number.MAX_SAFE_INTEGER - i * 3),
    ];
    for (const ids of patterns) {
      const store = new FaceVectorStore(1000);
      ids.forEach((faceId, i) => store.add(faceId, at(i), 1));
      ids.forEach((faceId, i) => expect(store.slotOf(faceId)).toBe(i));
      const stored = new Set(ids);
      for (const faceId of ids) {
        for (const near of [faceId - 1, faceId + 1, faceId + 2 ** 20]) {
          if (Number.isSafeInteger(near) && !stored.has(near)) expect(store.slotOf(near)).toBe(-1);
        }
      }
      const saved = FaceVectorStore.fromPages([...store.savedPages()], 1, 1000);
      ids.forEach((faceId, i) => expect(saved.slotOf(faceId)).toBe(i));
    }
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

  it('takes back its saved pages as they are, and goes on growing from the last one', () => {
    const store = new FaceVectorStore(4);
    for (let faceId = 1; faceId <= 10; faceId++) store.add(faceId * 3, at(faceId, -faceId), faceId % 4);
    // Copies, as read back from a file.
    const saved = [...store.savedPages()].map((page) => ({
      faceIds: page.faceIds.slice(),
      clusterIds: page.clusterIds.slice(),
      vectors: page.vectors.slice(),
    }));
    expect(saved.map((page) => page.faceIds.length)).toEqual([4, 4, 2]);
    const back = FaceVectorStore.fromPages(saved, 2, 4);
    expect(back.size).toBe(10);
    for (let faceId = 1; faceId <= 10; faceId++) {
      expect(back.slotOf(faceId * 3)).toBe(faceId - 1);
      expect([...back.vectorOf(faceId * 3)!]).toEqual([faceId, -faceId]);
      expect(back.clusterOf(faceId * 3)).toBe(faceId % 4);
    }
    // A full page is used as it is (no copy); the last is widened to take more faces.
    expect(back.vectorOf(3)!.buffer).toBe(saved[0]!.vectors.buffer);
    back.add(100, at(7, 7), 2);
    back.add(101, at(8, 8), 2);
    back.add(102, at(9, 9), 3);
    expect([...back.vectorOf(102)!]).toEqual([9, 9]);
    expect(back.slotOf(102)).toBe(12);
    expect([...back.vectorOf(30)!]).toEqual([10, -10]);
  });

  it('compacts into a store without the dropped faces, in order, across pages, emptying itself', () => {
    const store = new FaceVectorStore(4);
    for (let faceId = 1; faceId <= 11; faceId++) store.add(faceId * 10, at(faceId, -faceId), faceId % 3);
    const dropped = new Set([20, 40, 50, 110]);
    const kept = store.compacted((slot) => !dropped.has(store.faceIdAt(slot)));
    const expected = [10, 30, 60, 70, 80, 90, 100];
    expect(kept.size).toBe(expected.length);
    expect([...kept.savedPages()].map((page) => [...page.faceIds])).toEqual([expected.slice(0, 4), expected.slice(4)]);
    for (const faceId of expected) {
      expect([...kept.vectorOf(faceId)!]).toEqual([faceId / 10, -faceId / 10]);
      expect(kept.clusterOf(faceId)).toBe((faceId / 10) % 3);
    }
    for (const faceId of dropped) expect(kept.has(faceId)).toBe(false);
    expect(store.size).toBe(0);
    expect([...store.savedPages()]).toEqual([]);
    // The compacted store goes on growing.
    kept.add(120, at(12, -12), 0);
    expect(kept.slotOf(120)).toBe(expected.length);
  });

  it('refuses saved pages that are short before the last, of uneven columns, or repeat a face', () => {
    const page = (ids: number[]) => ({
      faceIds: Float64Array.from(ids),
      clusterIds: new Float64Array(ids.length),
      vectors: new Float32Array(ids.length * 2),
    });
    expect(() => FaceVectorStore.fromPages([page([1]), page([2, 3])], 2, 2)).toThrow(/page 0 holds 1 faces/);
    expect(() => FaceVectorStore.fromPages([{ ...page([1, 2]), clusterIds: new Float64Array(1) }], 2, 2)).toThrow(
      /different lengths/,
    );
    expect(() => FaceVectorStore.fromPages([page([1, 2]), page([2])], 2, 2)).toThrow(/stored twice/);
    expect(() => FaceVectorStore.fromPages([page([1.5])], 2, 2)).toThrow(/not an integer/);
  });
});

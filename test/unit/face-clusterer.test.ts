import { describe, expect, it } from 'vitest';
import { ExactIndex, FaceClusterer } from '../../src/services/clustering/face-clusterer.js';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';
import { TEST_CLUSTER_RULES } from '../helpers/cluster-rules.js';

const rules = TEST_CLUSTER_RULES;
const at = (...values: number[]) => Float32Array.from(values);

/** Faces of a few people around separated centres, some look-alikes between them, in a fixed order. */
function faces(count: number) {
  let state = 7;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return Array.from({ length: count }, (_, i) => {
    const person = Math.floor(next() * 12);
    return {
      faceId: i + 1,
      vector: at((person % 4) * 0.6 + next() * 0.35, Math.floor(person / 4) * 0.6 + next() * 0.35),
    };
  });
}

function clusterer(constraints?: ConstructorParameters<typeof FaceClusterer>[2]) {
  return new FaceClusterer(new ExactIndex('euclidean'), rules, constraints);
}

describe('FaceClusterer', () => {
  it('groups near faces and keeps far ones apart', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    c.add(2, at(0.1, 0));
    c.add(3, at(0, 0.1));
    c.add(4, at(5, 5));
    expect(c.snapshot().map((s) => s.members)).toEqual([[1, 2, 3], [4]]);
  });

  it('does not chain different people through a line of look-alikes', () => {
    // Each face is within the pair threshold of the previous one only: single linkage would make one cluster
    // of all six, although the ends are 2.0 apart.
    const c = clusterer();
    for (let i = 0; i < 6; i++) c.add(i + 1, at(i * 0.4, 0));
    const clusters = c.snapshot();
    expect(clusters.length).toBeGreaterThanOrEqual(3);
    for (const cluster of clusters) {
      const xs = cluster.members.map((id) => (id - 1) * 0.4);
      expect(Math.max(...xs) - Math.min(...xs)).toBeLessThanOrEqual(0.4 + 1e-9);
    }
  });

  it('merges two clusters when a new face shows they are one person', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    c.add(2, at(0.55, 0)); // too far from 1 alone: its own cluster
    expect(c.snapshot()).toHaveLength(2);
    const changes = c.add(3, at(0.28, 0)); // between them, close to both: mean linkage 0.4
    expect(changes.map((change) => change.kind)).toEqual(['joined', 'merged']);
    expect(c.snapshot().map((s) => s.members)).toEqual([[1, 2, 3]]);
  });

  it('never joins cannot-linked faces, and always joins must-linked ones', () => {
    const c = clusterer({ cannotLink: [[1, 2]], mustLink: [[3, 4]] });
    c.add(1, at(0, 0));
    c.add(2, at(0.05, 0));
    expect(c.clusterIdOf(1)).not.toBe(c.clusterIdOf(2));
    c.add(3, at(3, 3));
    c.add(4, at(4, 4));
    expect(c.clusterIdOf(3)).toBe(c.clusterIdOf(4));
  });

  it('is idempotent for a face added twice', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    expect(c.add(1, at(0, 0))).toEqual([]);
    expect(c.snapshot()).toEqual([{ clusterId: 1, members: [1] }]);
  });
});

describe('ExactIndex', () => {
  it('returns the k nearest, nearest first', () => {
    const index = new ExactIndex('euclidean');
    index.add(1, at(0, 0));
    index.add(2, at(1, 0));
    index.add(3, at(3, 0));
    expect(index.search(at(0.9, 0), 2).map((hit) => hit.faceId)).toEqual([2, 1]);
    expect(index.size).toBe(3);
  });
});

describe('FaceClusterer.restore', () => {
  it('rebuilds earlier decisions and numbers new clusters after them', () => {
    const c = clusterer();
    c.restore(10, at(0, 0), 7);
    c.restore(11, at(0.1, 0), 7);
    expect(c.add(12, at(0.05, 0.05))).toEqual([expect.objectContaining({ kind: 'joined', clusterId: 7, faceId: 12 })]);
    expect(c.add(13, at(9, 9))).toEqual([{ kind: 'created', clusterId: 8, faceId: 13 }]);
    expect(c.membersOf(7)).toEqual([10, 11, 12]);
  });
});

describe('FaceClusterer.addMany', () => {
  it('gives the same clusters and changes as adding one by one, whatever the page size', () => {
    const all = faces(200);
    const constraints = { cannotLink: [[3, 40]] as [number, number][], mustLink: [[5, 120]] as [number, number][] };
    const one = clusterer(constraints);
    const expected = all.flatMap((face) => one.add(face.faceId, face.vector));
    expect(new Set(expected.map((change) => change.kind))).toEqual(new Set(['created', 'joined', 'merged']));
    for (const page of [1, 7, 50, 200]) {
      const batch = clusterer(constraints);
      const changes = [];
      for (let from = 0; from < all.length; from += page) changes.push(...batch.addMany(all.slice(from, from + page)));
      expect(changes).toEqual(expected);
      expect(batch.snapshot()).toEqual(one.snapshot());
    }
  });

  it('lets faces of one page find each other, and skips faces already added', () => {
    const c = clusterer();
    c.add(1, at(5, 5));
    const changes = c.addMany([
      { faceId: 2, vector: at(0, 0) },
      { faceId: 3, vector: at(0.1, 0) },
      { faceId: 2, vector: at(0, 0) },
      { faceId: 1, vector: at(5, 5) },
    ]);
    expect(changes.map((change) => change.kind)).toEqual(['created', 'joined']);
    expect(c.snapshot().map((s) => s.members)).toEqual([[2, 3], [1]]);
  });

  it('restores many faces at once like one by one', () => {
    const c = clusterer();
    c.restoreMany([
      { faceId: 10, vector: at(0, 0), clusterId: 7 },
      { faceId: 11, vector: at(0.1, 0), clusterId: 7 },
      { faceId: 10, vector: at(0, 0), clusterId: 7 },
    ]);
    expect(c.membersOf(7)).toEqual([10, 11]);
    expect(c.addMany([{ faceId: 12, vector: at(0.05, 0.05) }])).toEqual([
      expect.objectContaining({ kind: 'joined', clusterId: 7, faceId: 12 }),
    ]);
  });
});

describe('FaceClusterer.applyConstraints', () => {
  it('splits a cluster holding a cannot-link pair, keeping the id with the part of its lowest face', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    c.add(2, at(0.1, 0));
    c.add(3, at(0.2, 0));
    c.add(4, at(0.15, 0.05));
    expect(c.snapshot().map((s) => s.members)).toEqual([[1, 2, 3, 4]]);
    const id = c.clusterIdOf(1)!;
    // The analyst says 3 and 4 are another person than 1 and 2.
    const changes = c.applyConstraints({
      cannotLink: [
        [3, 1],
        [3, 2],
        [4, 1],
        [4, 2],
      ],
      mustLink: [],
    });
    expect(changes).toEqual([{ kind: 'split', clusterId: id, newClusterId: id + 1, faceIds: [3, 4] }]);
    expect(c.membersOf(id)).toEqual([1, 2]);
    expect(c.clusterIdOf(4)).toBe(id + 1);
    // Later faces honour the constraint too: a face next to 3 never joins 1's cluster through it.
    c.add(5, at(0.2, 0.01));
    expect(c.clusterIdOf(5)).toBe(id + 1);
  });

  it('merges clusters joined by a must-link, unless a cannot-link forbids it', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    c.add(2, at(3, 0));
    c.add(3, at(6, 0));
    expect(c.applyConstraints({ cannotLink: [[2, 3]], mustLink: [[1, 2]] })).toEqual([
      expect.objectContaining({ kind: 'merged', clusterId: c.clusterIdOf(1), absorbedId: 2 }),
    ]);
    expect(c.clusterIdOf(2)).toBe(c.clusterIdOf(1));
    expect(c.applyConstraints({ cannotLink: [], mustLink: [[1, 3]] })).toEqual([]);
    expect(c.clusterIdOf(3)).not.toBe(c.clusterIdOf(1));
  });
});

describe('FaceClusterer.match', () => {
  it('weighs the clusters near a face without adding it, and names the one it would join', () => {
    const c = clusterer();
    c.add(1, at(0, 0));
    c.add(2, at(0.1, 0));
    c.add(3, at(0.6, 0));
    const matches = c.match(at(0.3, 0));
    expect(matches.map((m) => m.clusterId)).toEqual([c.clusterIdOf(1), c.clusterIdOf(3)]);
    expect(matches.map((m) => m.joins)).toEqual([true, false]);
    expect(matches[0]).toMatchObject({ size: 2, meanDistance: 0.25, support: 1 });
    expect(c.match(at(9, 9))).toEqual([]);
    expect(c.snapshot().flatMap((s) => s.members)).toHaveLength(3);
  });
});

describe('FaceClusterer.adopting', () => {
  /**
   * The same clustered faces taken back two ways: face by face (restoreMany, as a start from Postgres) and from
   * a saved gallery (adopting, as a start from the saved files), with cluster ids past 2^32 so that they sort
   * over several passes.
   */
  function takenBackBothWays(
    all: { faceId: number; vector: Float32Array }[],
    clusterIdOf: (clusterId: number) => number,
  ) {
    const first = clusterer();
    first.addMany(all);
    const saved = all.map((face) => ({ ...face, clusterId: clusterIdOf(first.clusterIdOf(face.faceId)!) }));
    const restored = clusterer();
    restored.restoreMany(saved);
    const gallery = new FaceVectorStore(16);
    const index = new ExactIndex('euclidean');
    for (const face of saved) {
      gallery.add(face.faceId, face.vector, face.clusterId);
      index.add(face.faceId, face.vector);
    }
    return { restored, adopted: FaceClusterer.adopting(index, rules, gallery), saved };
  }

  it('holds the same clusters, members in the same order, as restoring face by face', () => {
    const { restored, adopted, saved } = takenBackBothWays(
      faces(150),
      (clusterId) => 2 ** 40 + clusterId * 65_536 + (clusterId % 3),
    );
    expect(adopted.snapshot()).toEqual(restored.snapshot());
    for (const clusterId of new Set(saved.map((face) => face.clusterId))) {
      expect(adopted.membersOf(clusterId)).toEqual(restored.membersOf(clusterId));
    }
    expect(adopted.membersOf(2 ** 40 + 3)).toEqual([]);
  });

  it('goes on deciding as a clusterer restored face by face: joins, merges of saved clusters, new ids, splits', () => {
    // Two saved clusters far from the rest, 0.55 apart: a face between them shows they are one person.
    const apart = [
      { faceId: 1001, vector: at(20, 20) },
      { faceId: 1002, vector: at(20.55, 20) },
    ];
    const { restored, adopted } = takenBackBothWays([...faces(60), ...apart], (clusterId) => 2 ** 33 + clusterId);
    const savedIds = [adopted.clusterIdOf(1001)!, adopted.clusterIdOf(1002)!];
    expect(savedIds[0]).not.toBe(savedIds[1]);
    const more = [
      ...faces(260).slice(60),
      { faceId: 1003, vector: at(20.28, 20) },
      { faceId: 1004, vector: at(20.3, 20) },
    ];
    const expected = restored.addMany(more);
    expect(adopted.addMany(more)).toEqual(expected);
    expect(expected).toContainEqual(
      expect.objectContaining({ kind: 'merged', clusterId: Math.min(...savedIds), absorbedId: Math.max(...savedIds) }),
    );
    expect(adopted.membersOf(Math.max(...savedIds))).toEqual([]);
    expect(adopted.membersOf(Math.min(...savedIds))).toEqual([1001, 1002, 1003, 1004]);
    expect(expected.some((change) => change.kind === 'created')).toBe(true);
    expect(adopted.snapshot()).toEqual(restored.snapshot());
    const [largest] = restored.snapshot();
    const cannotLink: [number, number][] = [[largest!.members[0]!, largest!.members.at(-1)!]];
    expect(adopted.applyConstraints({ cannotLink, mustLink: [] })).toEqual(
      restored.applyConstraints({ cannotLink, mustLink: [] }),
    );
    expect(adopted.snapshot()).toEqual(restored.snapshot());
  });

  it('refuses a saved face without a cluster', () => {
    const gallery = new FaceVectorStore();
    gallery.add(1, at(0, 0), 5);
    gallery.add(2, at(1, 0));
    expect(() => FaceClusterer.adopting(new ExactIndex('euclidean'), rules, gallery)).toThrow(/face 2 has no cluster/);
  });
});

/*
 * Over 400 lines on purpose: one algorithm (online clustering with re-ranked index hits, merges, splits and
 * analysts' cannot-link and must-link constraints) whose invariants hold across all of it.
 */
import { distanceBelow, faceDistance } from '../face-distance.js';
import { ClusterTable, type Cluster } from './cluster-table.js';
import { FaceVectorStore, type GalleryPage } from './face-vector-store.js';

export type Metric = 'euclidean' | 'cosine';

export interface Neighbour {
  faceId: number;
  distance: number;
}

/** Nearest stored faces of a query vector: the ANN index's contract (exact or approximate). */
export interface NeighbourIndex {
  add(faceId: number, vector: Float32Array): void;
  /** Up to `k` nearest faces with their distances, nearest first. */
  search(vector: Float32Array, k: number): Neighbour[];
  /** `add` for each face in order; an index may do it faster at once (usearch: one native call on all threads). */
  addMany(faceIds: readonly number[], vectors: readonly Float32Array[]): void;
  /** `search` for each vector, against the faces stored before the call. */
  searchMany(vectors: readonly Float32Array[], k: number): Neighbour[][];
  readonly size: number;
}

/**
 * An index's hits with exact distances from the full vectors, nearest first: a quantized index only proposes
 * neighbours (see IndexQuantization). A hit whose vector `gallery` lacks keeps the index's distance.
 */
export function rescored(
  vector: Float32Array,
  hits: readonly Neighbour[],
  gallery: { vectorOf(faceId: number): Float32Array | undefined },
  metric: Metric,
): Neighbour[] {
  return hits
    .map((hit) => {
      const stored = gallery.vectorOf(hit.faceId);
      return stored ? { faceId: hit.faceId, distance: faceDistance(vector, stored, metric) } : hit;
    })
    .sort((a, b) => a.distance - b.distance);
}

export interface ClusterRules {
  metric: Metric;
  /** Two faces closer than this are taken as one person (the embedder's calibrated threshold). */
  pairThreshold: number;
  /**
   * A face joins a cluster only when its mean distance to the cluster's members is below this, and a merge of
   * two clusters needs the mean of all cross distances below it: average linkage, which one look-alike
   * cannot satisfy for a whole cluster (single linkage can, and chains people together).
   */
  averageThreshold: number;
  /** ...and it must be within `pairThreshold` of at least this share of the members. */
  minSupport: number;
  /** Neighbours fetched from the index per face. */
  neighbours: number;
}

/** Analyst decisions, honoured by every assignment and merge. Pairs of face ids. */
export interface ClusterConstraints {
  cannotLink: [number, number][];
  mustLink: [number, number][];
}

/** What happened to the clusters when a face was added: the cluster worker records each change. */
export type ClusterChange =
  | { kind: 'created'; clusterId: number; faceId: number }
  | { kind: 'joined'; clusterId: number; faceId: number; meanDistance: number; support: number }
  | { kind: 'merged'; clusterId: number; absorbedId: number; meanDistance: number }
  /** An analyst's cannot-link: `faceIds` left `clusterId` for the new cluster `newClusterId`. */
  | { kind: 'split'; clusterId: number; newClusterId: number; faceIds: number[] };

/** A cluster a query face is close to, weighed as the clusterer weighs a joining face. */
export interface ClusterMatch {
  clusterId: number;
  size: number;
  meanDistance: number;
  support: number;
  /** The clusterer would put the face here (the best fitting cluster; at most one match has it). */
  joins: boolean;
}

/**
 * Incremental face clustering that resists chaining. Each new face looks up its nearest faces; among their
 * clusters it joins the one it matches best *as a whole* (mean distance to all members, and close to enough
 * of them), else it starts a cluster. Clusters it links are merged only when their average linkage says they
 * are one person. Cannot-link pairs are never put together; must-link pairs always are.
 */
export class FaceClusterer {
  /** Descriptors and each face's cluster, flat (10M faces fit; a Map of arrays per face did not). */
  private faces = new FaceVectorStore();
  private clusters = new ClusterTable();
  private readonly cannotLink = new Map<number, Set<number>>();
  private readonly mustLink = new Map<number, Set<number>>();
  private nextClusterId: number;

  constructor(
    private readonly index: NeighbourIndex,
    private readonly rules: ClusterRules,
    constraints: ClusterConstraints = { cannotLink: [], mustLink: [] },
    firstClusterId = 1,
  ) {
    this.nextClusterId = firstClusterId;
    for (const [a, b] of constraints.cannotLink) link(this.cannotLink, a, b);
    for (const [a, b] of constraints.mustLink) link(this.mustLink, a, b);
  }

  /**
   * A clusterer over a loaded saved index and the gallery saved with it (every face of `gallery` in `index`,
   * each with its cluster): the gallery's pages are taken as they are, only the clusters are gathered.
   */
  static adopting(index: NeighbourIndex, rules: ClusterRules, gallery: FaceVectorStore): FaceClusterer {
    const clusterer = new FaceClusterer(index, rules);
    clusterer.faces = gallery;
    const { table, highestId } = ClusterTable.restoring(gallery);
    clusterer.clusters = table;
    clusterer.nextClusterId = Math.max(clusterer.nextClusterId, highestId + 1);
    return clusterer;
  }

  /** The gallery itself (descriptors and clusters), to check it against Postgres in place (see reload). */
  get gallery(): FaceVectorStore {
    return this.faces;
  }

  /** The gallery page by page, to save beside the index (see FaceVectorStore.savedPages). */
  savedPages(): Iterable<GalleryPage> {
    return this.faces.savedPages();
  }

  /** The gallery's layout, for the saved copy. */
  get galleryShape(): { dimensions: number; facesPerPage: number } {
    return { dimensions: this.faces.dimensionCount, facesPerPage: this.faces.facesPerPage };
  }

  /**
   * Puts back a face whose cluster was decided earlier (rebuilding from Postgres on start): no search, no
   * decision, no change reported.
   */
  restore(faceId: number, vector: Float32Array, clusterId: number): void {
    this.restoreMany([{ faceId, vector, clusterId }]);
  }

  /**
   * {@link restore} for many faces, inserted into the index at once (the worker's start-up, 1M faces).
   * `indexed`: the faces are in the index already (a saved index was loaded), only the clusters are restored.
   */
  restoreMany(
    faces: readonly { faceId: number; vector: Float32Array; clusterId: number }[],
    options: { indexed?: boolean } = {},
  ): void {
    const ids: number[] = [];
    const vectors: Float32Array[] = [];
    for (const { faceId, vector, clusterId } of faces) {
      if (this.faces.has(faceId)) continue;
      this.faces.add(faceId, vector, clusterId);
      ids.push(faceId);
      vectors.push(vector);
      this.joinRestored(faceId, clusterId);
    }
    if (options.indexed) return;
    if (ids.length === 1) this.index.add(ids[0]!, vectors[0]!);
    else this.index.addMany(ids, vectors);
  }

  private joinRestored(faceId: number, clusterId: number): void {
    const cluster = this.clusters.get(clusterId);
    if (cluster) cluster.members.push(faceId);
    else this.clusters.set(clusterId, { id: clusterId, members: [faceId] });
    if (clusterId >= this.nextClusterId) this.nextClusterId = clusterId + 1;
  }

  /** A stored face's descriptor. */
  vectorOf(faceId: number): Float32Array | undefined {
    return this.faces.vectorOf(faceId);
  }

  /** Member face ids of a cluster. */
  membersOf(clusterId: number): number[] {
    return [...(this.clusters.get(clusterId)?.members ?? [])];
  }

  /** Adds one face and returns what changed. Adding a face twice is a no-op. */
  add(faceId: number, vector: Float32Array): ClusterChange[] {
    if (this.faces.has(faceId)) return [];
    const neighbours = this.exactly(vector, this.index.search(vector, this.rules.neighbours));
    this.faces.add(faceId, vector);
    this.index.add(faceId, vector);
    return this.place(faceId, vector, neighbours);
  }

  /**
   * Adds faces in order and returns what changed, as `add` one by one would with an exact index: each face's
   * neighbours are its nearest among the faces stored before the batch (one batch search of the index) and the
   * faces before it in the batch (compared exactly, so faces of one page still find each other). With an
   * approximate index this only finds more: within the batch nothing is approximate. Repeated faces are no-ops.
   */
  addMany(faces: readonly { faceId: number; vector: Float32Array }[]): ClusterChange[] {
    const fresh: { faceId: number; vector: Float32Array }[] = [];
    const seen = new Set<number>();
    for (const face of faces) {
      if (this.faces.has(face.faceId) || seen.has(face.faceId)) continue;
      seen.add(face.faceId);
      fresh.push(face);
    }
    if (fresh.length === 0) return [];
    const k = this.rules.neighbours;
    const stored = this.index.searchMany(
      fresh.map((face) => face.vector),
      k,
    );
    this.index.addMany(
      fresh.map((face) => face.faceId),
      fresh.map((face) => face.vector),
    );
    const changes: ClusterChange[] = [];
    fresh.forEach(({ faceId, vector }, i) => {
      // Stored hits first so that equal distances keep the index's (insertion) order, as one search would.
      const neighbours = this.exactly(vector, stored[i]!);
      // Only earlier faces under the pair threshold can make a candidate cluster in place(): the others are
      // skipped as soon as their distance passes it, and the candidates are the same as one by one.
      let added = false;
      for (let j = 0; j < i; j++) {
        const earlier = fresh[j]!;
        const distance = distanceBelow(vector, earlier.vector, this.rules.metric, this.rules.pairThreshold);
        if (distance !== Infinity) {
          neighbours.push({ faceId: earlier.faceId, distance });
          added = true;
        }
      }
      if (added) neighbours.sort((a, b) => a.distance - b.distance);
      this.faces.add(faceId, vector);
      changes.push(...this.place(faceId, vector, neighbours.slice(0, k)));
    });
    return changes;
  }

  /**
   * The index's hits with exact distances from the full vectors, nearest first. A quantized index only proposes
   * neighbours: bf16's and f16's distances are approximate (a face just inside the pair threshold could be taken as
   * outside it), i8's are angles. Hits past the pair threshold are left out: nothing reads them.
   */
  private exactly(vector: Float32Array, hits: readonly Neighbour[]): Neighbour[] {
    const ranked: Neighbour[] = [];
    for (const hit of hits) {
      const stored = this.faces.vectorOf(hit.faceId);
      if (!stored) {
        ranked.push(hit);
        continue;
      }
      // Only neighbours under the pair threshold matter in place(): the exact distance of the others is not
      // needed, and the sum stops as soon as it passes the threshold. Decided on exact distances only.
      const distance = distanceBelow(vector, stored, this.rules.metric, this.rules.pairThreshold);
      if (distance !== Infinity) ranked.push({ faceId: hit.faceId, distance });
    }
    return ranked.sort((a, b) => a.distance - b.distance);
  }

  /** Decides the cluster of a face already stored in the index, given its nearest neighbours (exact distances). */
  private place(faceId: number, vector: Float32Array, neighbours: readonly Neighbour[]): ClusterChange[] {
    const candidates = new Set<number>();
    for (const n of neighbours) {
      const clusterId = this.faces.clusterOf(n.faceId);
      if (clusterId !== undefined && n.distance < this.rules.pairThreshold) candidates.add(clusterId);
    }
    for (const partner of this.mustLink.get(faceId) ?? []) {
      const clusterId = this.faces.clusterOf(partner);
      if (clusterId !== undefined) candidates.add(clusterId);
    }

    // The neighbours' exact distances, so weighing their clusters does not read their vectors again (in a large
    // gallery each random read of a vector costs more than the arithmetic). Same values, same decisions.
    const known = new Map<number, number>();
    for (const n of neighbours) known.set(n.faceId, n.distance);

    let best: { cluster: Cluster; meanDistance: number; support: number } | null = null;
    for (const clusterId of candidates) {
      const cluster = this.clusters.get(clusterId)!;
      if (this.conflicts([faceId], cluster.members)) continue;
      const partners = this.mustLink.get(faceId);
      const forced = partners !== undefined && cluster.members.some((member) => partners.has(member));
      // Only a forced cluster is weighed whatever its mean; any other that cannot fit stops early.
      const limit = forced ? Infinity : this.rules.averageThreshold;
      const { mean, support } = this.affinity(vector, cluster.members, limit, known);
      const fits = mean < this.rules.averageThreshold && support >= this.rules.minSupport;
      if ((forced || fits) && (!best || mean < best.meanDistance)) best = { cluster, meanDistance: mean, support };
    }

    const changes: ClusterChange[] = [];
    let home: Cluster;
    if (best) {
      home = best.cluster;
      home.members.push(faceId);
      this.faces.setCluster(faceId, home.id);
      changes.push({
        kind: 'joined',
        clusterId: home.id,
        faceId,
        meanDistance: round(best.meanDistance),
        support: round(best.support),
      });
    } else {
      home = { id: this.nextClusterId++, members: [faceId] };
      this.clusters.set(home.id, home);
      this.faces.setCluster(faceId, home.id);
      changes.push({ kind: 'created', clusterId: home.id, faceId });
    }

    // The new face may be the evidence that its cluster and another are one person.
    for (const clusterId of candidates) {
      if (clusterId === home.id || !this.clusters.has(clusterId)) continue;
      const other = this.clusters.get(clusterId)!;
      const forced = this.mustLinked(home.members, other.members);
      const meanDistance = this.averageLinkage(
        home.members,
        other.members,
        forced ? Infinity : this.rules.averageThreshold,
        { faceId, distances: known },
      );
      if ((forced || meanDistance < this.rules.averageThreshold) && !this.conflicts(home.members, other.members)) {
        const [keep, absorbed] = home.id < other.id ? [home, other] : [other, home];
        for (const member of absorbed.members) this.faces.setCluster(member, keep.id);
        keep.members.push(...absorbed.members);
        this.clusters.delete(absorbed.id);
        changes.push({
          kind: 'merged',
          clusterId: keep.id,
          absorbedId: absorbed.id,
          meanDistance: round(meanDistance),
        });
        home = keep;
      }
    }
    return changes;
  }

  /**
   * Read-only: the clusters a new face would be weighed against, best first, and the one it would join.
   * Nothing is added (pre-activation checks).
   */
  match(vector: Float32Array): ClusterMatch[] {
    const candidates = new Set<number>();
    for (const n of this.exactly(vector, this.index.search(vector, this.rules.neighbours))) {
      const clusterId = this.faces.clusterOf(n.faceId);
      if (clusterId !== undefined && n.distance < this.rules.pairThreshold) candidates.add(clusterId);
    }
    const weighed = [...candidates]
      .map((clusterId) => {
        const members = this.clusters.get(clusterId)!.members;
        const { mean, support } = this.affinity(vector, members);
        const fits = mean < this.rules.averageThreshold && support >= this.rules.minSupport;
        return { clusterId, size: members.length, meanDistance: round(mean), support: round(support), fits };
      })
      .sort((a, b) => a.meanDistance - b.meanDistance);
    const home = weighed.findIndex((match) => match.fits);
    return weighed.map(({ fits: _fits, ...match }, i) => ({ ...match, joins: i === home }));
  }

  /**
   * Takes in analysts' constraints and makes the clusters obey them: a cluster holding a cannot-link pair is
   * split (its members clustered again among themselves, in id order, under all constraints; the part holding
   * its lowest face keeps the id), and clusters joined by a must-link pair are merged. Returns the changes.
   */
  applyConstraints(constraints: ClusterConstraints): ClusterChange[] {
    const changes: ClusterChange[] = [];
    const dirty = new Set<number>();
    for (const [a, b] of constraints.cannotLink) {
      link(this.cannotLink, a, b);
      const clusterId = this.faces.clusterOf(a);
      if (clusterId !== undefined && clusterId === this.faces.clusterOf(b)) dirty.add(clusterId);
    }
    for (const clusterId of dirty) changes.push(...this.split(clusterId));
    for (const [a, b] of constraints.mustLink) {
      link(this.mustLink, a, b);
      const ca = this.faces.clusterOf(a);
      const cb = this.faces.clusterOf(b);
      if (ca === undefined || cb === undefined || ca === cb) continue;
      const [keep, absorbed] = [this.clusters.get(Math.min(ca, cb))!, this.clusters.get(Math.max(ca, cb))!];
      if (this.conflicts(keep.members, absorbed.members)) continue;
      const meanDistance = this.averageLinkage(keep.members, absorbed.members);
      for (const member of absorbed.members) this.faces.setCluster(member, keep.id);
      keep.members.push(...absorbed.members);
      this.clusters.delete(absorbed.id);
      changes.push({ kind: 'merged', clusterId: keep.id, absorbedId: absorbed.id, meanDistance: round(meanDistance) });
    }
    return changes;
  }

  private split(clusterId: number): ClusterChange[] {
    const cluster = this.clusters.get(clusterId)!;
    const members = [...cluster.members].sort((a, b) => a - b);
    const local = new FaceClusterer(new ExactIndex(this.rules.metric), this.rules, {
      cannotLink: members.flatMap((a) => [...(this.cannotLink.get(a) ?? [])].map((b): [number, number] => [a, b])),
      mustLink: members.flatMap((a) => [...(this.mustLink.get(a) ?? [])].map((b): [number, number] => [a, b])),
    });
    for (const faceId of members) local.add(faceId, this.faces.vectorOf(faceId)!);
    const parts = local.snapshot().sort((a, b) => a.members[0]! - b.members[0]!);
    const changes: ClusterChange[] = [];
    cluster.members = parts[0]!.members;
    for (const part of parts.slice(1)) {
      const created = { id: this.nextClusterId++, members: part.members };
      this.clusters.set(created.id, created);
      for (const faceId of part.members) this.faces.setCluster(faceId, created.id);
      changes.push({ kind: 'split', clusterId, newClusterId: created.id, faceIds: part.members });
    }
    return changes;
  }

  clusterIdOf(faceId: number): number | undefined {
    return this.faces.clusterOf(faceId);
  }

  /** Clusters as member lists (ids ascending), largest first. */
  snapshot(): { clusterId: number; members: number[] }[] {
    return [...this.clusters.values()]
      .map((cluster) => ({ clusterId: cluster.id, members: [...cluster.members].sort((a, b) => a - b) }))
      .sort((a, b) => b.members.length - a.members.length || a.clusterId - b.clusterId);
  }

  /**
   * Mean distance from a face to the members, and the share of them within the pair threshold. With a `limit`,
   * stops with mean Infinity once the mean can no longer come out below it (distances are never negative, so
   * a partial sum past limit x members settles it): exact for every cluster that could fit.
   */
  private affinity(
    vector: Float32Array,
    members: number[],
    limit = Infinity,
    known?: ReadonlyMap<number, number>,
  ): { mean: number; support: number } {
    const most = limit * members.length;
    let sum = 0;
    let close = 0;
    for (const member of members) {
      const d = known?.get(member) ?? faceDistance(vector, this.faces.vectorOf(member)!, this.rules.metric);
      sum += d;
      if (d < this.rules.pairThreshold) close++;
      if (sum >= most) return { mean: Infinity, support: 0 };
    }
    return { mean: sum / members.length, support: close / members.length };
  }

  /**
   * Mean distance over all cross pairs; with a `limit`, Infinity as soon as the mean cannot end below it.
   * `known`: distances already computed from one face of `a` (the face being placed) to faces of `b`.
   */
  private averageLinkage(
    a: number[],
    b: number[],
    limit = Infinity,
    known?: { faceId: number; distances: ReadonlyMap<number, number> },
  ): number {
    const most = limit * a.length * b.length;
    let sum = 0;
    for (const x of a) {
      const vx = this.faces.vectorOf(x)!;
      const row = known?.faceId === x ? known.distances : undefined;
      for (const y of b) sum += row?.get(y) ?? faceDistance(vx, this.faces.vectorOf(y)!, this.rules.metric);
      if (sum >= most) return Infinity;
    }
    return sum / (a.length * b.length);
  }

  private conflicts(a: number[], b: number[]): boolean {
    return linkedAcross(this.cannotLink, a, b);
  }

  private mustLinked(a: number[], b: number[]): boolean {
    return linkedAcross(this.mustLink, a, b);
  }
}

/**
 * Whether a constraint pairs a face of `a` with a face of `b`. Called for every candidate cluster of every new
 * face: with no constraints it costs nothing, and only faces that have constraints look at `b`.
 */
function linkedAcross(map: Map<number, Set<number>>, a: number[], b: number[]): boolean {
  if (map.size === 0) return false;
  return a.some((x) => {
    const partners = map.get(x);
    return partners !== undefined && b.some((y) => partners.has(y));
  });
}

function link(map: Map<number, Set<number>>, a: number, b: number): void {
  if (!map.has(a)) map.set(a, new Set());
  if (!map.has(b)) map.set(b, new Set());
  map.get(a)!.add(b);
  map.get(b)!.add(a);
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

/** Exact nearest neighbours by scanning every vector: the reference the ANN index is measured against. */
export class ExactIndex implements NeighbourIndex {
  private readonly ids: number[] = [];
  private readonly vectors: Float32Array[] = [];

  constructor(private readonly metric: Metric) {}

  get size(): number {
    return this.ids.length;
  }

  add(faceId: number, vector: Float32Array): void {
    this.ids.push(faceId);
    this.vectors.push(vector);
  }

  addMany(faceIds: readonly number[], vectors: readonly Float32Array[]): void {
    faceIds.forEach((faceId, i) => this.add(faceId, vectors[i]!));
  }

  search(vector: Float32Array, k: number): Neighbour[] {
    const hits = this.vectors.map((v, i) => ({ faceId: this.ids[i]!, distance: faceDistance(vector, v, this.metric) }));
    return hits.sort((a, b) => a.distance - b.distance).slice(0, k);
  }

  searchMany(vectors: readonly Float32Array[], k: number): Neighbour[][] {
    return vectors.map((vector) => this.search(vector, k));
  }
}

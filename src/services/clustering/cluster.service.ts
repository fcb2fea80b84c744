/*
 * Over 400 lines on purpose: the single cluster writer's loop (index load or rebuild, pending faces and
 * stragglers, constraints, verdicts, index saves) shares one state and one order of steps.
 */
import type { IdentityPolicy } from '../rules/identity-graph.js';
import {
  RulesService,
  type CandidateWrite,
  type ClusterJudgement,
  type Probe,
  type ProbeVerdict,
  type RulesGallery,
  type RulesStore,
} from '../rules/rules.service.js';
import { pairAgreement } from './cluster-metrics.js';
import { reclusterAll } from './recluster.js';
import { adoptSavedGallery, type FaceMemberships, type SavedNeighbourIndex } from './saved-gallery.js';
import type { GalleryPage } from './face-vector-store.js';
import { FaceVectorStore } from './face-vector-store.js';
import {
  ExactIndex,
  FaceClusterer,
  rescored,
  type ClusterChange,
  type ClusterConstraints,
  type ClusterMatch,
  type ClusterRules,
  type NeighbourIndex,
} from './face-clusterer.js';

export interface ClusterStore extends RulesStore {
  loadFaces(
    embedder: string,
    afterFaceId?: number,
    limit?: number,
  ): Promise<{ faceId: number; vector: Float32Array; clusterId: number | null }[]>;
  /**
   * {@link loadFaces} without the descriptors: every face's id and cluster up to `lastFaceId` (all when
   * omitted), in id order, in pages of MEMBERSHIP_PAGE: what a restart reads from Postgres when the descriptors
   * come from the gallery saved with the index. All are read before any is used: a check answered meanwhile
   * (reload) never sees a live gallery half reconciled, and a start reads them while the saved files load.
   */
  loadMemberships(embedder: string, lastFaceId?: number): Promise<FaceMemberships[]>;
  lastEventId(): Promise<number>;
  /** Id of the newest event saying stored descriptors were recomputed (0: none). */
  lastReembedEventId(): Promise<number>;
  applyChanges(embedder: string, changes: readonly ClusterChange[]): Promise<number>;
  /**
   * Replaces cluster memberships wholesale (an applied recluster): `moves` give faces their new cluster,
   * `created` clusters are inserted first and `removed` ones (left empty) deleted, in one transaction.
   */
  replaceClusters(
    embedder: string,
    plan: { moves: { faceId: number; clusterId: number }[]; created: number[]; removed: number[] },
  ): Promise<number>;
  /** Clusters whose stored size differs from their member count: a change was written but not judged. */
  unjudgedClusters(): Promise<number[]>;
  /** Faces with `fromId` < id <= `toId` that are in no cluster (committed late), oldest first. */
  unclusteredFaces(
    embedder: string,
    fromId: number,
    toId: number,
  ): Promise<{ faceId: number; vector: Float32Array; clusterId: null }[]>;
  /** Analysts' constraints stored after `afterId`, oldest first. */
  constraints(afterId: number): Promise<{ id: number; kind: string; faceA: number; faceB: number }[]>;
  /**
   * Cluster verdicts and the block candidates of the judged clusters, written together: the candidates given
   * replace the pending ones of those clusters.
   */
  saveVerdicts(
    verdicts: readonly (ClusterJudgement & { size: number })[],
    candidates: readonly CandidateWrite[],
  ): Promise<void>;
}

const PAGE = 500;
/** How far below the newest clustered face id to look for faces that committed late. */
const STRAGGLER_WINDOW = 10_000;
/** How often every face id is checked for a missing cluster (a straggler outside the window). */
const FULL_SWEEP_MS = 5 * 60_000;

/** What a saved index holds: the clustered faces up to `lastFaceId` (`faces` of them), as of `lastEventId`. */
export interface IndexWatermark {
  lastFaceId: number;
  lastEventId: number;
  faces: number;
}

/** Faces in id order and their clusters (NaN: not clustered yet), as parallel columns. */
export type { FaceMemberships } from './saved-gallery.js';

/** The clusterer's gallery (descriptors and clusters) saved with the index, page by page. */
export interface SavedGallery {
  dimensions: number;
  facesPerPage: number;
  pages: readonly GalleryPage[];
}

/** A saved index as loaded: the index, its watermark and, when it was saved and is whole, the gallery. */
export interface LoadedIndex {
  index: SavedNeighbourIndex;
  watermark: IndexWatermark;
  gallery?: SavedGallery;
  /** Why the gallery cannot be used: the index still is, with descriptors read from Postgres. */
  galleryUnusable?: string;
  /** Seconds each part of the load took (a restart's log says where its time went). */
  timings?: Record<string, number>;
}

/** Where a start's time went: seconds from its start until each part was done, and the files' parts' seconds. */
export interface RebuildTimings {
  filesLoaded?: number;
  membershipsRead?: number;
  fileParts?: Record<string, number>;
}

/**
 * A saved copy of the nearest-neighbour index and of the gallery, so a start loads them and inserts only the
 * faces stored since, instead of every face (40+ min at 1M), and reads no descriptor of a saved face from
 * Postgres (110 s at 10M). Only a cache: faces in Postgres stay the source of truth.
 */
export interface SavedIndexStore {
  /** The saved index and its watermark, or why there is none to use (missing, corrupt, other settings). */
  load(): Promise<LoadedIndex | { unusable: string }>;
  save(index: NeighbourIndex, watermark: IndexWatermark, gallery?: SavedGallery): Promise<unknown>;
}

/**
 * Where the writer reports its in-memory index (the cluster worker's Prometheus metrics; nothing in tests and
 * commands): how many faces it holds, and how long each rebuild took and whether it loaded the saved index.
 */
export interface ClusterIndexMetrics {
  indexSize(embedder: string, faces: number): void;
  indexRebuilt(embedder: string, seconds: number, source: IndexSource): void;
}
export const NO_CLUSTER_INDEX_METRICS: ClusterIndexMetrics = {
  indexSize: () => undefined,
  indexRebuilt: () => undefined,
};

/** The index is saved again once this many faces, or a tenth of those saved, were added since the last save. */
const SAVE_INDEX_AFTER_FACES = 10_000;

/**
 * The single writer of clusters. Keeps a clusterer in memory, rebuilt from Postgres whenever another writer
 * changed the clusters since this one last wrote (or on first use), clusters every face not yet in a cluster,
 * page by page, and re-judges every cluster it touched.
 */
export class ClusterService {
  private clusterer: FaceClusterer | null = null;
  private lastFaceId = 0;
  private knownEventId = -1;
  private lastConstraintId = 0;
  private lastFullSweep = Date.now();
  private readonly fraudRules: RulesService;

  constructor(
    private readonly store: ClusterStore,
    private readonly embedder: string,
    private readonly rules: ClusterRules,
    /** A fresh nearest-neighbour index (ANN in production, exact in tests). */
    private readonly createIndex: () => NeighbourIndex = () => new ExactIndex(rules.metric),
    /** How records resolve into subscribers and when the fraud rules fire (the embedder's face evidence). */
    identity: IdentityPolicy,
    /** Where the index is saved between starts (none: every start inserts every face). */
    private readonly savedIndex?: SavedIndexStore,
    private readonly metrics: ClusterIndexMetrics = NO_CLUSTER_INDEX_METRICS,
  ) {
    this.fraudRules = new RulesService(store, identity, embedder);
  }

  /** The live clusterer's index and how many faces it held when last saved or loaded. */
  private index: NeighbourIndex | null = null;
  private savedFaces = 0;
  /** The saved files still hold faces erased since (dropped on load): the next save is due whatever was added. */
  private erasedSinceSave = false;

  /**
   * Applies analysts' new constraints, then clusters all pending faces; returns how many faces were placed and
   * how many clusters are flagged among those touched.
   */
  async clusterPending(): Promise<{
    faces: number;
    touched: number;
    flagged: number;
    indexSaved?: { faces: number } | { error: string };
  }> {
    try {
      return await this.clusterPendingFaces();
    } finally {
      // Faces placed before a failure stay in the index: its size is reported whichever way this ends.
      if (this.index) this.metrics.indexSize(this.embedder, this.index.size);
    }
  }

  private async clusterPendingFaces() {
    const rebuilt = !this.clusterer || (await this.store.lastEventId()) !== this.knownEventId;
    if (rebuilt) await this.reload();
    const clusterer = this.clusterer!;
    let placed = 0;
    let flagged = 0;
    const touchedTotal = new Set<number>();
    const tally = (judged: { flagged: number; touched: Iterable<number> }) => {
      flagged += judged.flagged;
      for (const id of judged.touched) touchedTotal.add(id);
    };
    const record = async (changes: ClusterChange[]) => tally(await this.persist(clusterer, changes));
    if (rebuilt) {
      // A writer that died between writing a change and its verdict leaves clusters whose stored size lags
      // their members (verdicts and candidates are written together, after membership): judge them now.
      const unjudged = await this.store.unjudgedClusters();
      if (unjudged.length > 0) tally(await this.judge(unjudged, (clusterId) => clusterer.membersOf(clusterId).length));
    }
    await record(await this.applyNewConstraints(clusterer));
    // Face workers commit in parallel, so a face can commit after a higher id was already clustered: such
    // stragglers are picked up from a window below the high-water mark, and by a full sweep now and then.
    const sweepAll = Date.now() - this.lastFullSweep > FULL_SWEEP_MS;
    const stragglers = await this.store.unclusteredFaces(
      this.embedder,
      sweepAll ? 0 : Math.max(0, this.lastFaceId - STRAGGLER_WINDOW),
      this.lastFaceId,
    );
    if (sweepAll) this.lastFullSweep = Date.now();
    const known = stragglers.filter((face) => clusterer.clusterIdOf(face.faceId) === undefined);
    placed += known.length;
    await record(clusterer.addMany(known));
    for (;;) {
      const page = await this.store.loadFaces(this.embedder, this.lastFaceId, PAGE);
      if (page.length === 0) break;
      for (const face of page) this.lastFaceId = Math.max(this.lastFaceId, face.faceId);
      // Faces another writer already placed go in first; the page's new faces then see them all (batch search
      // on all cores, exact comparison within the page: see FaceClusterer.addMany).
      clusterer.restoreMany(
        page.flatMap((face) => (face.clusterId === null ? [] : [{ ...face, clusterId: face.clusterId }])),
      );
      const pending = page.filter((face) => face.clusterId === null);
      placed += pending.length;
      await record(clusterer.addMany(pending));
    }
    const saved = await this.saveIndex(false);
    return { faces: placed, touched: touchedTotal.size, flagged, ...(saved ? { indexSaved: saved } : {}) };
  }

  /**
   * Saves the index with its watermark when enough faces were added since the last save, or when `always` (on
   * close) and any were, or when the saved files still hold erased faces. A failed save only costs the next
   * start time (and keeps erased faces on disk until the next try), so it is returned, not thrown.
   */
  async saveIndex(always = true): Promise<{ faces: number } | { error: string } | null> {
    const index = this.index;
    if (!this.savedIndex || !index || !this.clusterer) return null;
    const added = index.size - this.savedFaces;
    const enough = always ? added > 0 : added >= Math.max(SAVE_INDEX_AFTER_FACES, this.savedFaces / 10);
    if (!enough && !this.erasedSinceSave) return null;
    const watermark = { lastFaceId: this.lastFaceId, lastEventId: this.knownEventId, faces: index.size };
    const gallery = { ...this.clusterer.galleryShape, pages: [...this.clusterer.savedPages()] };
    try {
      await this.savedIndex.save(index, watermark, gallery);
      this.savedFaces = watermark.faces;
      this.erasedSinceSave = false;
      return { faces: watermark.faces };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  /**
   * Read-only, for pre-activation checks: the clusters a face would be weighed against and the one it would
   * join, from the live in-memory clusters (built from Postgres on first use).
   */
  async match(vector: Float32Array): Promise<ClusterMatch[]> {
    if (!this.clusterer) await this.rebuild();
    return this.clusterer!.match(vector);
  }

  /** Read-only, for pre-activation checks: the fraud rules on a subscriber not yet stored, among the live faces. */
  async judgeProbe(probe: Probe): Promise<ProbeVerdict> {
    if (!this.clusterer) await this.rebuild();
    return this.fraudRules.judgeProbe(probe, this.gallery());
  }

  /** The live faces as the rules search them. */
  private gallery(): RulesGallery {
    const clusterer = this.clusterer!;
    const index = this.index!;
    return {
      metric: this.rules.metric,
      size: index.size,
      vectorOf: (faceId) => clusterer.vectorOf(faceId),
      // The rules read the distances themselves (links, cohorts): re-scored with the full vectors, because the
      // index's are approximate (bf16, f16) or angles (i8).
      searchMany: (vectors, k) =>
        index.searchMany(vectors, k).map((hits, q) => rescored(vectors[q]!, hits, clusterer, this.rules.metric)),
      clusterOf: (faceId) => clusterer.clusterIdOf(faceId),
      membersOf: (clusterId) => clusterer.membersOf(clusterId),
    };
  }

  private async applyNewConstraints(clusterer: FaceClusterer): Promise<ClusterChange[]> {
    const fresh = await this.store.constraints(this.lastConstraintId);
    if (fresh.length === 0) return [];
    this.lastConstraintId = fresh.at(-1)!.id;
    return clusterer.applyConstraints(constraintPairs(fresh));
  }

  /** Writes changes, then judges every cluster they touched and the clusters sharing a document or photo. */
  private async persist(clusterer: FaceClusterer, changes: readonly ClusterChange[]) {
    if (changes.length === 0) return { touched: [] as number[], flagged: 0 };
    const touched = new Set<number>();
    for (const change of changes) {
      touched.add(change.clusterId);
      if (change.kind === 'merged') touched.delete(change.absorbedId);
      if (change.kind === 'split') touched.add(change.newClusterId);
    }
    this.knownEventId = await this.store.applyChanges(this.embedder, changes);
    const changed = [...touched].filter((id) => clusterer.membersOf(id).length > 0);
    return this.judge(changed, (clusterId) => clusterer.membersOf(clusterId).length);
  }

  /**
   * Judges the changed clusters with every cluster whose subscribers could change with them (shared documents
   * and photos, nearby faces: see RulesService) and writes their verdicts and block candidates.
   */
  private async judge(changed: number[], sizeOf: (clusterId: number) => number) {
    const { clusters, candidates } = await this.fraudRules.judge(changed, this.gallery());
    const live = clusters.filter((cluster) => sizeOf(cluster.clusterId) > 0);
    await this.store.saveVerdicts(
      live.map((cluster) => ({ ...cluster, size: sizeOf(cluster.clusterId) })),
      candidates.filter((candidate) => sizeOf(candidate.clusterId) > 0),
    );
    return {
      touched: live.map((cluster) => cluster.clusterId),
      flagged: live.filter((v) => v.reasons.length > 0).length,
    };
  }

  /**
   * Clusters every stored face again in one batch (order-independent average linkage) and compares the result
   * with the incremental clusters in Postgres: the pairwise agreement says how much arrival order shaped them.
   * Read-only: it does not replace the stored clusters.
   */
  async compareWithRecluster(): Promise<{
    faces: number;
    incrementalClusters: number;
    reclusterClusters: number;
    agreement: number;
  }> {
    const { clustered, groups: batch } = await this.reclusterClusteredFaces();
    const batchOf = new Map<number, number>();
    batch.forEach((members, i) => members.forEach((faceId) => batchOf.set(faceId, i)));
    return {
      faces: clustered.length,
      incrementalClusters: new Set(clustered.map((face) => face.clusterId)).size,
      reclusterClusters: batch.length,
      agreement: pairAgreement(
        clustered.map((face) => face.clusterId!),
        clustered.map((face) => batchOf.get(face.faceId)!),
      ),
    };
  }

  /**
   * Replaces the live clusters by a batch recluster of every stored face under every analyst constraint.
   * Cluster ids are kept where a new cluster overlaps an old one most, so links to clusters stay meaningful;
   * every changed cluster is judged again. The caller must hold the cluster writer lock.
   */
  async applyRecluster(): Promise<{
    faces: number;
    clustersBefore: number;
    clustersAfter: number;
    movedFaces: number;
  }> {
    const { clustered, groups } = await this.reclusterClusteredFaces();
    const oldOf = new Map(clustered.map((face) => [face.faceId, face.clusterId!]));
    // Greedy: the largest overlaps first claim their old id; each old id goes to one new cluster at most.
    const overlaps: { group: number; oldId: number; count: number }[] = [];
    groups.forEach((members, group) => {
      const counts = new Map<number, number>();
      for (const faceId of members) counts.set(oldOf.get(faceId)!, (counts.get(oldOf.get(faceId)!) ?? 0) + 1);
      for (const [oldId, count] of counts) overlaps.push({ group, oldId, count });
    });
    overlaps.sort((a, b) => b.count - a.count || a.oldId - b.oldId);
    const idOfGroup = new Map<number, number>();
    const claimed = new Set<number>();
    for (const { group, oldId } of overlaps) {
      if (idOfGroup.has(group) || claimed.has(oldId)) continue;
      idOfGroup.set(group, oldId);
      claimed.add(oldId);
    }
    const oldIds = new Set(oldOf.values());
    let nextId = Math.max(0, ...oldIds) + 1;
    const created: number[] = [];
    groups.forEach((_, group) => {
      if (!idOfGroup.has(group)) {
        idOfGroup.set(group, nextId);
        created.push(nextId++);
      }
    });
    const moves: { faceId: number; clusterId: number }[] = [];
    const sizes = new Map<number, number>();
    groups.forEach((members, group) => {
      const clusterId = idOfGroup.get(group)!;
      sizes.set(clusterId, members.length);
      for (const faceId of members) if (oldOf.get(faceId) !== clusterId) moves.push({ faceId, clusterId });
    });
    const removed = [...oldIds].filter((id) => !claimed.has(id));
    const changed = [...new Set([...moves.map((m) => m.clusterId), ...moves.map((m) => oldOf.get(m.faceId)!)])].filter(
      (id) => sizes.has(id),
    );
    if (moves.length > 0) {
      await this.store.replaceClusters(this.embedder, { moves, created, removed });
      // The in-memory clusters are stale now: the rules read the new ones.
      await this.reload();
      await this.judge(changed, (clusterId) => this.clusterer!.membersOf(clusterId).length);
    }
    return {
      faces: clustered.length,
      clustersBefore: oldIds.size,
      clustersAfter: groups.length,
      movedFaces: moves.length,
    };
  }

  /** Every clustered face, and how a batch recluster of them under every analyst constraint groups them. */
  private async reclusterClusteredFaces() {
    const clustered = (await this.allFaces()).filter((face) => face.clusterId !== null);
    const groups = reclusterAll(clustered, this.createIndex(), this.rules, await this.allConstraints());
    return { clustered, groups };
  }

  private async allConstraints(): Promise<ClusterConstraints> {
    return constraintPairs(await this.store.constraints(0));
  }

  private async allFaces() {
    const faces: { faceId: number; vector: Float32Array; clusterId: number | null }[] = [];
    for (let after = 0; ;) {
      const page = await this.store.loadFaces(this.embedder, after, 10_000);
      if (page.length === 0) break;
      faces.push(...page);
      after = page.at(-1)!.faceId;
    }
    return faces;
  }

  /**
   * Catches up with changes other writers made in Postgres (an erasure, a recluster, a constraint): the gallery
   * in memory is checked against Postgres's ids and clusters as a saved one is at start (adoptSavedGallery:
   * clusters follow Postgres, erased faces are dropped and scrubbed), so an erasure costs one read of ids and
   * clusters (about 2 s per million faces) instead of loading the saved files and inserting every face added
   * since they were written. After `simsift reembed`, a restored backup, or before any state: {@link rebuild}.
   */
  async reload(): Promise<{ faces: number; seconds: number; savedIndex: string }> {
    const started = performance.now();
    const clusterer = this.clusterer;
    const index = this.index;
    const knownEventId = await this.store.lastEventId();
    const reembedded = (await this.store.lastReembedEventId()) > this.knownEventId;
    if (!clusterer || !isSavedIndex(index) || reembedded || knownEventId < this.knownEventId) return this.rebuild();
    const mark = { lastFaceId: this.lastFaceId, faces: index.size };
    const memberships = await this.store.loadMemberships(this.embedder, mark.lastFaceId);
    const adopted = adoptSavedGallery(index, clusterer.gallery, mark, this.rules, memberships);
    if (!adopted) return this.rebuild();
    this.clusterer = adopted.clusterer;
    this.knownEventId = knownEventId;
    this.lastConstraintId = 0;
    if (adopted.dropped > 0) this.erasedSinceSave = true;
    await this.restoreLate(adopted.clusterer, adopted.late);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.indexRebuilt(this.embedder, seconds, 'in_memory');
    this.metrics.indexSize(this.embedder, index.size);
    const faces = adopted.kept + adopted.late.length;
    return { faces, seconds, savedIndex: `kept in memory${droppedNote(adopted.dropped)}` };
  }

  /**
   * Drops the in-memory state and reloads every clustered face: faces in Postgres are the source of truth.
   * With a saved index whose faces are exactly the clustered faces up to its watermark, those are not inserted
   * again (only their vectors and clusters are read); anything else about the file means a full rebuild.
   */
  async rebuild(): Promise<{
    faces: number;
    seconds: number;
    savedIndex: string;
    timings: RebuildTimings;
  }> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started) / 1000;
    const timings: RebuildTimings = {};
    const knownEventId = await this.store.lastEventId();
    // Postgres's ids and clusters are read while the saved files load and are checked (each about 15 s at 10M
    // faces): a saved gallery is reconciled with them. Unused (and its failure ignored) when none is usable.
    const memberships = this.savedIndex
      ? this.store.loadMemberships(this.embedder).then((pages) => {
          timings.membershipsRead = elapsed();
          return pages;
        })
      : null;
    memberships?.catch(() => undefined);
    let saved = this.savedIndex ? await this.savedIndex.load() : { unusable: 'not kept' };
    timings.filesLoaded = elapsed();
    if ('timings' in saved && saved.timings) timings.fileParts = saved.timings;
    // An index saved before `simsift reembed` recomputed the descriptors holds the old vectors.
    if ('index' in saved && saved.watermark.lastEventId < (await this.store.lastReembedEventId())) {
      saved = { unusable: 'saved before the stored descriptors were recomputed (simsift reembed)' };
    }
    // Postgres went back in time (restored from an earlier backup): face ids are handed out again, so the saved
    // vectors under them may be other people's.
    if ('index' in saved && saved.watermark.lastEventId > knownEventId) {
      saved = { unusable: 'saved after the last cluster event in Postgres: the database was restored from a backup' };
    }
    let restored = 'index' in saved && memberships ? await this.restoreAll(saved, memberships) : null;
    const source: IndexSource = restored ? 'saved_index' : 'postgres';
    let savedIndex =
      'index' in saved
        ? `loaded (${saved.watermark.faces} faces)${descriptorSource(saved)}${droppedNote(restored?.dropped ?? 0)}`
        : saved.unusable;
    if (!restored && 'index' in saved) savedIndex = 'saved index does not match the faces in Postgres';
    restored ??= (await this.restoreAll())!;
    // Built aside and swapped in whole, so a check running meanwhile never sees a half-loaded index.
    this.clusterer = restored.clusterer;
    this.index = restored.index;
    this.savedFaces = restored.savedFaces;
    this.erasedSinceSave = restored.dropped > 0;
    this.knownEventId = knownEventId;
    this.lastFaceId = restored.lastFaceId;
    // Every constraint is taken in again (and enforced) by the next clusterPending.
    this.lastConstraintId = 0;
    // ...and its sweep covers every face id: one that committed late below the watermark is still unclustered.
    this.lastFullSweep = 0;
    const seconds = (performance.now() - started) / 1000;
    this.metrics.indexRebuilt(this.embedder, seconds, source);
    this.metrics.indexSize(this.embedder, restored.index.size);
    return { faces: restored.faces, seconds, savedIndex, timings };
  }

  /**
   * Every clustered face up to the first pending one, into a new clusterer on a fresh index, or on a saved one
   * (null if its faces are not exactly the clustered faces up to its watermark) checked against Postgres's ids
   * and clusters (`memberships`, being read).
   */
  private async restoreAll(saved?: LoadedIndex, memberships?: Promise<FaceMemberships[]>) {
    if (!saved || !memberships) {
      const index = this.createIndex();
      const clusterer = new FaceClusterer(index, this.rules);
      return { clusterer, index, savedFaces: 0, dropped: 0, ...(await this.restoreFromPostgres(clusterer, 0)) };
    }
    if (saved.gallery) {
      const { pages, dimensions, facesPerPage } = saved.gallery;
      let gallery: FaceVectorStore | undefined;
      try {
        gallery = FaceVectorStore.fromPages(pages, dimensions, facesPerPage);
      } catch (error) {
        // Whole on disk (its checksum held) yet not a gallery: the bytes were written wrong. Read from Postgres.
        saved.galleryUnusable = `saved gallery unusable: ${error instanceof Error ? error.message : String(error)}`;
        delete saved.gallery;
      }
      if (gallery) {
        // The store holds the pages now: without this reference a compaction (erased faces) frees each page it
        // has copied.
        saved.gallery = { ...saved.gallery!, pages: [] };
        return this.restoreWithGallery(saved, gallery, await memberships);
      }
    }
    return this.restoreWithoutGallery(saved);
  }

  /**
   * Clustered faces after `afterFaceId`, read from Postgres with their descriptors and inserted into the index,
   * up to the first pending face (clusterPending takes it from there).
   */
  private async restoreFromPostgres(
    clusterer: FaceClusterer,
    afterFaceId: number,
    /** How a page's clustered faces go in (a saved index holds some of them already). */
    place: (clustered: RestoredFace[]) => void = (clustered) => clusterer.restoreMany(clustered),
  ) {
    let lastFaceId = afterFaceId;
    let faces = 0;
    let next = this.store.loadFaces(this.embedder, lastFaceId, RESTORE_PAGE);
    for (;;) {
      const page = await next;
      const firstPending = page.findIndex((face) => face.clusterId === null);
      const clustered = (firstPending >= 0 ? page.slice(0, firstPending) : page) as RestoredFace[];
      if (firstPending < 0 && page.length > 0) {
        // Postgres reads the next page while this one goes into the graph (a full rebuild at 10M faces spends
        // over a minute in these reads). The pool sends a query only on a later tick, and placing blocks the
        // event loop, hence the yield: without it Postgres started only once the page was placed (measured:
        // a 1 s query beside 1 s of blocking work took 2 s, 1 s with the yield). If placing fails, that error is
        // the rebuild's and this read's is dropped.
        next = this.store.loadFaces(this.embedder, page.at(-1)!.faceId, RESTORE_PAGE);
        next.catch(() => undefined);
        await new Promise((resolve) => setImmediate(resolve));
      }
      place(clustered);
      faces += clustered.length;
      if (firstPending >= 0) return { lastFaceId: page[firstPending]!.faceId - 1, faces };
      if (page.length === 0) return { lastFaceId, faces };
      lastFaceId = page.at(-1)!.faceId;
    }
  }

  /**
   * A saved index and the gallery saved with it: the descriptors of the faces up to the watermark come from the
   * gallery, their clusters and existence from Postgres (one light read of ids and clusters); faces clustered
   * since (and any that committed late) are read whole and inserted.
   */
  private async restoreWithGallery(saved: LoadedIndex, gallery: FaceVectorStore, memberships: FaceMemberships[]) {
    const mark = saved.watermark.lastFaceId;
    const adopted = adoptSavedGallery(saved.index, gallery, saved.watermark, this.rules, memberships);
    if (!adopted) return null;
    const { clusterer, kept, dropped, late } = adopted;
    await this.restoreLate(clusterer, late);
    // A face up to the watermark still unclustered (committed late) is a straggler: the first clusterPending's
    // full sweep places it, so the restore goes on from the watermark without reading any face below it again.
    const rest = await this.restoreFromPostgres(clusterer, mark);
    return {
      clusterer,
      index: saved.index,
      savedFaces: kept,
      lastFaceId: rest.lastFaceId,
      faces: kept + late.length + rest.faces,
      dropped,
    };
  }

  /**
   * Faces up to the watermark that the gallery lacks (committed late, clustered after it was saved or checked),
   * read whole and inserted if still clustered.
   */
  private async restoreLate(clusterer: FaceClusterer, late: readonly number[]): Promise<void> {
    for (const faceId of late) {
      const [face] = await this.store.loadFaces(this.embedder, faceId - 1, 1);
      if (face?.faceId === faceId && face.clusterId !== null) clusterer.restoreMany([face as RestoredFace]);
    }
  }

  /** A saved index without its gallery: every face read from Postgres, only the newer ones inserted. */
  private async restoreWithoutGallery(saved: LoadedIndex) {
    const index = saved.index;
    const clusterer = new FaceClusterer(index, this.rules);
    const mark = saved.watermark.lastFaceId;
    let inSaved = 0;
    const { lastFaceId, faces } = await this.restoreFromPostgres(clusterer, 0, (clustered) => {
      const split = clustered.findIndex((face) => face.faceId > mark);
      const old = split >= 0 ? clustered.slice(0, split) : clustered;
      if (old.length > 0) {
        // A face that committed late may have been clustered after the save: it is inserted like a newer one.
        const present = index.contains(old.map((face) => face.faceId));
        const indexed = old.filter((_, i) => present[i]);
        inSaved += indexed.length;
        clusterer.restoreMany(indexed, { indexed: true });
        clusterer.restoreMany(old.filter((_, i) => !present[i]));
      }
      if (split >= 0) clusterer.restoreMany(clustered.slice(split));
    });
    // Fewer found than saved: the file holds faces no longer clustered (or gone), which must not be neighbours.
    if (inSaved !== saved.watermark.faces) return null;
    return { clusterer, index, lastFaceId, faces, savedFaces: inSaved, dropped: 0 };
  }
}

type RestoredFace = { faceId: number; vector: Float32Array; clusterId: number };

/** Faces per Postgres read when restoring with descriptors (without them: MEMBERSHIP_PAGE). */
const RESTORE_PAGE = 10_000;

/** Where the cluster index came from: the saved files, every face from Postgres, or the gallery in memory. */
export type IndexSource = 'saved_index' | 'postgres' | 'in_memory';

/** An index that can be checked and pruned as a saved one (the usearch index; not the exact one of tests). */
function isSavedIndex(index: NeighbourIndex | null): index is SavedNeighbourIndex {
  return index !== null && 'contains' in index && 'remove' in index;
}

/** What a restart from a saved index says about saved faces erased since the save. */
function droppedNote(dropped: number): string {
  return dropped > 0 ? `; ${dropped} saved faces erased since, dropped from it` : '';
}

/** Where a restart from a saved index took the saved faces' descriptors from. */
function descriptorSource(saved: LoadedIndex): string {
  return saved.gallery ? ', descriptors from its gallery' : `, descriptors from Postgres: ${saved.galleryUnusable}`;
}

function constraintPairs(constraints: readonly { kind: string; faceA: number; faceB: number }[]): ClusterConstraints {
  const pairs = (kind: string) =>
    constraints.filter((c) => c.kind === kind).map((c): [number, number] => [c.faceA, c.faceB]);
  return { cannotLink: pairs('cannot_link'), mustLink: pairs('must_link') };
}

import { FaceClusterer, type ClusterRules, type NeighbourIndex } from './face-clusterer.js';
import type { FaceVectorStore } from './face-vector-store.js';

/** Face ids in ascending order and their clusters (NaN: not clustered yet), as two columns. */
export interface FaceMemberships {
  faceIds: Float64Array;
  clusterIds: Float64Array;
}

/** An index that was saved: it can say which faces it holds, and take some out. */
export interface SavedNeighbourIndex extends NeighbourIndex {
  contains(faceIds: readonly number[] | Float64Array): boolean[];
  /** Takes faces out; returns how many were in. */
  remove(faceIds: readonly number[]): number;
}

/** Faces per page of ids and clusters read when checking a saved gallery against Postgres (1.6 MB). */
export const MEMBERSHIP_PAGE = 100_000;

/** A saved index and gallery taken back: the clusterer holding them, and what Postgres said about them. */
export interface AdoptedGallery {
  clusterer: FaceClusterer;
  /** Saved faces Postgres still has, clustered: the clusterer holds exactly these. */
  kept: number;
  /** Saved faces Postgres no longer has clustered (erased), dropped from the index and the gallery. */
  dropped: number;
  /** Clustered faces up to the watermark that the gallery lacks (committed late, clustered after the save). */
  late: number[];
}

/**
 * Takes back the index and the gallery saved together (`gallery` is the saved pages as a store): checks they
 * match, gives every saved face the cluster Postgres has now (`memberships`: ClusterStore.loadMemberships), and drops
 * the saved faces Postgres no longer has clustered (an erasure since the save) from both, so one erased
 * subscriber does not cost a full rebuild (about an hour at 10M faces on 2 cores). Null when the pair does not
 * match (damaged): rebuild instead.
 */
export function adoptSavedGallery(
  index: SavedNeighbourIndex,
  gallery: FaceVectorStore,
  watermark: { lastFaceId: number; faces: number },
  rules: ClusterRules,
  memberships: readonly FaceMemberships[],
): AdoptedGallery | null {
  if (gallery.size !== watermark.faces || !galleryInIndex(index, gallery)) return null;
  const reconciled: GalleryReconciliation = { seen: new Uint8Array(gallery.size), kept: 0, late: [] };
  for (const page of memberships) if (!reconcileGallery(gallery, watermark.lastFaceId, page, reconciled)) break;
  const dropped = gallery.size - reconciled.kept;
  let kept = gallery;
  if (dropped > 0) {
    const gone: number[] = [];
    for (let slot = 0; slot < gallery.size; slot++) if (!reconciled.seen[slot]) gone.push(gallery.faceIdAt(slot));
    if (index.remove(gone) !== gone.length) return null;
    kept = gallery.compacted((slot) => reconciled.seen[slot] === 1);
  }
  return {
    clusterer: FaceClusterer.adopting(index, rules, kept),
    kept: reconciled.kept,
    dropped,
    late: reconciled.late,
  };
}

/** Whether every face of the gallery is in the index (saved together, so only a damaged pair fails). */
export function galleryInIndex(index: SavedNeighbourIndex, gallery: FaceVectorStore): boolean {
  for (const page of gallery.savedPages()) if (!index.contains(page.faceIds).every(Boolean)) return false;
  return true;
}

/** Where the check of a saved gallery against Postgres stands (see reconcileGallery). */
export interface GalleryReconciliation {
  /** By slot: 1 once Postgres has the saved face, clustered. */
  seen: Uint8Array;
  /** How many saved faces were seen. */
  kept: number;
  /** Clustered faces up to the watermark that the gallery lacks (committed late, clustered after the save). */
  late: number[];
}

/**
 * Checks a page of Postgres's faces and clusters against the saved gallery, up to the watermark `mark`: marks
 * the saved faces still there and gives each the cluster Postgres has (another change may have been written
 * after the save). An unclustered face is passed: the faces after it are checked too. Returns false once past
 * the watermark.
 */
export function reconcileGallery(
  gallery: FaceVectorStore,
  mark: number,
  page: FaceMemberships,
  state: GalleryReconciliation,
): boolean {
  for (let i = 0; i < page.faceIds.length; i++) {
    const faceId = page.faceIds[i]!;
    const clusterId = page.clusterIds[i]!;
    if (faceId > mark) return false;
    // Not clustered yet (committed late): a straggler, for clusterPending's sweep.
    if (Number.isNaN(clusterId)) continue;
    const slot = gallery.slotOf(faceId);
    if (slot < 0) state.late.push(faceId);
    else {
      state.seen[slot] = 1;
      state.kept++;
      if (gallery.clusterAt(slot) !== clusterId) gallery.setClusterAt(slot, clusterId);
    }
  }
  return true;
}

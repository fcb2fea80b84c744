/**
 * Faces per page: 65,536 x 128 dimensions x 4 bytes is 32 MiB, so growing by a page never copies what is
 * stored and no single ArrayBuffer nears V8's size limits, at 10M faces as at 10.
 */
const DEFAULT_PAGE_FACES = 1 << 16;

/**
 * A page of the store as saved beside the index (UsearchIndexFile): face ids, their clusters and descriptors,
 * each `faces` long (times the dimensions for the descriptors). Every page but the last is full.
 */
export interface GalleryPage {
  faceIds: Float64Array;
  clusterIds: Float64Array;
  vectors: Float32Array;
}

/** No face in this hash slot: face ids are integers, so NaN never equals one. */
const EMPTY = Number.NaN;

/** No cluster recorded for the face yet. */
const NO_CLUSTER = Number.NaN;

/**
 * The clusterer's gallery: each stored face's descriptor and cluster, in flat typed arrays indexed by a slot
 * (the order faces were stored in). A Map of one Float32Array per face costs about 200 bytes of object
 * overhead on top of the 512 bytes of a 128-d descriptor, and a V8 Map holds at most 2^24 (16.7M) entries; here
 * a face costs its descriptor, 8 bytes each of face id and cluster id and 24-48 bytes of id-to-slot hash (the
 * table doubles when half full), with no per-face object.
 * Faces are never removed one by one, so slots never move; when faces were erased, the rest are copied into a
 * new store ({@link compacted}, on a start from the saved files or the worker's reload).
 */
export class FaceVectorStore {
  private dimensions = 0;
  private readonly pages: Float32Array[] = [];
  private readonly clusterPages: Float64Array[] = [];
  private readonly faceIdPages: Float64Array[] = [];
  private count = 0;
  /** Open addressing, linear probing: face id -> slot, at most half full. */
  private hashKeys = new Float64Array(1 << 10).fill(EMPTY);
  private hashSlots = new Int32Array(1 << 10);

  constructor(private readonly pageFaces = DEFAULT_PAGE_FACES) {
    if (!Number.isInteger(pageFaces) || pageFaces < 1) throw new Error('pageFaces must be a positive integer');
  }

  /**
   * A store holding saved pages as they are (no copy of a full page): how a restart takes back the gallery
   * saved with the index, instead of reading every descriptor from Postgres (110 s at 10M faces).
   */
  static fromPages(pages: readonly GalleryPage[], dimensions: number, pageFaces = DEFAULT_PAGE_FACES): FaceVectorStore {
    const store = new FaceVectorStore(pageFaces);
    store.dimensions = dimensions;
    pages.forEach((page, p) => {
      const faces = page.faceIds.length;
      const full = faces === pageFaces;
      if ((!full && p < pages.length - 1) || faces > pageFaces || faces === 0) {
        throw new Error(`saved page ${p} holds ${faces} faces, pages hold ${pageFaces}`);
      }
      if (page.clusterIds.length !== faces || page.vectors.length !== faces * dimensions) {
        throw new Error(`saved page ${p} has columns of different lengths`);
      }
      // The last page takes further faces: it gets full-size arrays.
      const widen = <T extends Float64Array | Float32Array>(column: T, make: (length: number) => T, width = 1): T => {
        if (full) return column;
        const wide = make(pageFaces * width);
        wide.set(column);
        return wide;
      };
      store.faceIdPages.push(widen(page.faceIds, (n) => new Float64Array(n)));
      store.clusterPages.push(widen(page.clusterIds, (n) => new Float64Array(n).fill(NO_CLUSTER)));
      store.pages.push(widen(page.vectors, (n) => new Float32Array(n), dimensions));
      store.count += faces;
    });
    let buckets = 1 << 10;
    while (buckets < store.count * 2 + 2) buckets *= 2;
    store.hashKeys = new Float64Array(buckets).fill(EMPTY);
    store.hashSlots = new Int32Array(buckets);
    for (let slot = 0; slot < store.count; slot++) {
      const faceId = store.faceIdAt(slot);
      if (!Number.isSafeInteger(faceId) || store.slotOf(faceId) >= 0) {
        throw new Error(`saved face id ${faceId} is not an integer or is stored twice`);
      }
      store.insertHash(faceId, slot);
    }
    return store;
  }

  /**
   * A new store holding the faces whose slot `keep` accepts, in the same order, with their clusters. This store
   * gives up each page once copied, so the copy costs one page of memory, not the gallery's size again; it is
   * empty afterwards.
   */
  compacted(keep: (slot: number) => boolean): FaceVectorStore {
    const store = new FaceVectorStore(this.pageFaces);
    store.dimensions = this.dimensions;
    for (let slot = 0; slot < this.count; slot++) {
      if (keep(slot)) store.add(this.faceIdAt(slot), this.vectorAt(slot), this.clusterAt(slot));
      if (this.withinPage(slot + 1) === 0 || slot === this.count - 1) {
        const page = this.pageOf(slot);
        this.pages[page] = new Float32Array(0);
        this.clusterPages[page] = new Float64Array(0);
        this.faceIdPages[page] = new Float64Array(0);
      }
    }
    this.pages.length = this.clusterPages.length = this.faceIdPages.length = 0;
    this.count = 0;
    this.hashKeys = new Float64Array(1 << 10).fill(EMPTY);
    this.hashSlots = new Int32Array(1 << 10);
    return store;
  }

  /** Faces stored. */
  get size(): number {
    return this.count;
  }

  /** Descriptor length (0 while empty). */
  get dimensionCount(): number {
    return this.dimensions;
  }

  /** Faces per page (see {@link fromPages}). */
  get facesPerPage(): number {
    return this.pageFaces;
  }

  /** The stored faces page by page, as views into the store (valid until the next add). */
  *savedPages(): Generator<GalleryPage> {
    for (let p = 0; p * this.pageFaces < this.count; p++) {
      const faces = Math.min(this.pageFaces, this.count - p * this.pageFaces);
      yield {
        faceIds: this.faceIdPages[p]!.subarray(0, faces),
        clusterIds: this.clusterPages[p]!.subarray(0, faces),
        vectors: this.pages[p]!.subarray(0, faces * this.dimensions),
      };
    }
  }

  has(faceId: number): boolean {
    return this.slotOf(faceId) >= 0;
  }

  /** The face's slot, or -1 when it is not stored. */
  slotOf(faceId: number): number {
    const mask = this.hashKeys.length - 1;
    for (let at = hashOf(faceId) & mask; ; at = (at + 1) & mask) {
      const key = this.hashKeys[at]!;
      if (key === faceId) return this.hashSlots[at]!;
      if (Number.isNaN(key)) return -1;
    }
  }

  /**
   * Stores a copy of the descriptor (the caller's array can be dropped) and returns its slot. Every face must
   * have the first one's length. Storing a face again is an error: the clusterer checks `has` first.
   */
  add(faceId: number, vector: Float32Array, clusterId = NO_CLUSTER): number {
    if (!Number.isSafeInteger(faceId)) throw new Error(`face id ${faceId} is not an integer`);
    if (this.dimensions === 0) this.dimensions = vector.length;
    if (vector.length !== this.dimensions) {
      throw new Error(`descriptor length ${vector.length}, the store holds ${this.dimensions}`);
    }
    if (this.has(faceId)) throw new Error(`face ${faceId} is stored already`);
    const slot = this.count;
    const page = this.pageOf(slot);
    if (page === this.pages.length) {
      this.pages.push(new Float32Array(this.pageFaces * this.dimensions));
      this.clusterPages.push(new Float64Array(this.pageFaces).fill(NO_CLUSTER));
      this.faceIdPages.push(new Float64Array(this.pageFaces));
    }
    const within = this.withinPage(slot);
    this.pages[page]!.set(vector, within * this.dimensions);
    this.clusterPages[page]![within] = clusterId;
    this.faceIdPages[page]![within] = faceId;
    this.count++;
    if (this.count * 2 > this.hashKeys.length) this.growHash();
    this.insertHash(faceId, slot);
    return slot;
  }

  /** The stored descriptor: a view into the store (not a copy), or undefined for an unknown face. */
  vectorOf(faceId: number): Float32Array | undefined {
    const slot = this.slotOf(faceId);
    return slot < 0 ? undefined : this.vectorAt(slot);
  }

  /** The descriptor in a slot, as a view into the store. */
  vectorAt(slot: number): Float32Array {
    const from = this.withinPage(slot) * this.dimensions;
    return this.pages[this.pageOf(slot)]!.subarray(from, from + this.dimensions);
  }

  /** The face stored in a slot. */
  faceIdAt(slot: number): number {
    return this.faceIdPages[this.pageOf(slot)]![this.withinPage(slot)]!;
  }

  /** The face's cluster, or undefined for an unknown face or one not placed yet. */
  clusterOf(faceId: number): number | undefined {
    const slot = this.slotOf(faceId);
    if (slot < 0) return undefined;
    const clusterId = this.clusterAt(slot);
    return Number.isNaN(clusterId) ? undefined : clusterId;
  }

  /** The cluster recorded in a slot (NaN: none). */
  clusterAt(slot: number): number {
    return this.clusterPages[this.pageOf(slot)]![this.withinPage(slot)]!;
  }

  /** Records the cluster of the face in a slot. */
  setClusterAt(slot: number, clusterId: number): void {
    this.clusterPages[this.pageOf(slot)]![this.withinPage(slot)] = clusterId;
  }

  /** Records a stored face's cluster. */
  setCluster(faceId: number, clusterId: number): void {
    const slot = this.slotOf(faceId);
    if (slot < 0) throw new Error(`face ${faceId} is not stored`);
    this.setClusterAt(slot, clusterId);
  }

  /** The page a slot is on. */
  private pageOf(slot: number): number {
    return Math.floor(slot / this.pageFaces);
  }

  /** A slot's place on its page. */
  private withinPage(slot: number): number {
    return slot % this.pageFaces;
  }

  private insertHash(faceId: number, slot: number): void {
    const mask = this.hashKeys.length - 1;
    let at = hashOf(faceId) & mask;
    while (!Number.isNaN(this.hashKeys[at]!)) at = (at + 1) & mask;
    this.hashKeys[at] = faceId;
    this.hashSlots[at] = slot;
  }

  private growHash(): void {
    this.hashKeys = new Float64Array(this.hashKeys.length * 2).fill(EMPTY);
    this.hashSlots = new Int32Array(this.hashKeys.length);
    for (let slot = 0; slot < this.count - 1; slot++) this.insertHash(this.faceIdAt(slot), slot);
  }
}

/** Consecutive face ids kept in consecutive buckets (see hashOf): 16 keys are two cache lines of the table. */
const HASH_RUN = 16;

/**
 * Puts a face id's bucket near its neighbours' and far from the rest. Postgres ids are consecutive, and the
 * gallery is read and checked in id order (a restart looks up 10M faces), so each run of HASH_RUN consecutive ids
 * keeps its order inside the table, while the runs are scattered by a multiplicative hash (Fibonacci hashing)
 * of the run's low and high 32 bits: consecutive runs in consecutive buckets would merge into one long probe
 * sequence. Scattering every id on its own made each lookup at 10M faces a cache and TLB miss (measured: 10M
 * inserts 4.3 s, 0.1 s per million at 1M); runs of 16 cut that to one miss per run.
 */
function hashOf(faceId: number): number {
  const run = Math.floor(faceId / HASH_RUN);
  const low = run | 0;
  const high = Math.floor(run / 2 ** 32) | 0;
  const mixed = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
  return (((mixed ^ (mixed >>> 15)) * HASH_RUN) >>> 0) + (faceId - run * HASH_RUN);
}

import { availableParallelism } from 'node:os';
import { BatchMatches, Index, MetricKind, ScalarKind } from 'usearch';
import type { Metric, NeighbourIndex, Neighbour } from '../services/clustering/face-clusterer.js';

/**
 * How vectors are stored in the graph. f16 and bf16 keep euclidean distances (f16 within ~2e-4, bf16 within
 * ~1.3e-3 on the bench's faces). i8 does not:
 * usearch scales every vector to unit length before rounding it to bytes (an Int8Array given to it too), so an
 * i8 graph ranks faces by angle, and its distances are chords between unit vectors. The index then only
 * proposes neighbours, and every caller re-scores them with the full vectors (FaceClusterer, the rules'
 * gallery, recluster). Measured on 1M synthetic faces: ranking by angle finds the same-person partners as
 * well as f16 does, but not quite the nearest strangers (see DEFAULT_INDEX_OPTIONS).
 */
export const INDEX_QUANTIZATIONS = ['f32', 'f16', 'bf16', 'i8'] as const;
export type IndexQuantization = (typeof INDEX_QUANTIZATIONS)[number];

export interface UsearchIndexOptions {
  connectivity?: number;
  expansionAdd?: number;
  expansionSearch?: number;
  quantization?: IndexQuantization;
  threads?: number;
  /** Graph size from which batches are inserted on all threads (see UsearchIndex.addMany). */
  concurrentInsertFrom?: number;
}

/**
 * What a saved index was built with. A file is reused only with the same metric and dimensions; its graph
 * settings (below) it keeps, whatever the current defaults (see UsearchIndexFile.load).
 */
export interface UsearchIndexShape extends GraphSettings {
  metric: Metric;
  dimensions: number;
}

/** How a graph is built: they change its speed and how much it finds, never the distances callers decide on. */
export interface GraphSettings {
  connectivity: number;
  expansionAdd: number;
  quantization: IndexQuantization;
}

/** The graph settings this code builds: a saved index with others is not loaded, a bench refuses them. */
export const GRAPH_SETTING_RANGES = {
  connectivity: { min: 2, max: 256 },
  expansionAdd: { min: 2, max: 4096 },
} as const;

/** The graph settings recorded in a saved index's sidecar, or null when they are not ones this code builds. */
export function graphSettingsOf(shape: Partial<Record<keyof GraphSettings, unknown>>): GraphSettings | null {
  const { connectivity, expansionAdd, quantization } = shape;
  const whole = (value: unknown, { min, max }: { min: number; max: number }): value is number =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
  if (
    !whole(connectivity, GRAPH_SETTING_RANGES.connectivity) ||
    !whole(expansionAdd, GRAPH_SETTING_RANGES.expansionAdd)
  )
    return null;
  if (typeof quantization !== 'string' || !Object.hasOwn(SCALAR_KIND, quantization)) return null;
  return { connectivity, expansionAdd, quantization: quantization as IndexQuantization };
}

/**
 * Defaults chosen with the cluster bench's covariance generator (batch search + add in pages of 500, 100k
 * faces, 3,000 same-person pairs within the threshold; 99.1% of partners are among the 32 nearest even in an
 * exact scan). Index CPU-ms per face / pairs found / found of those an exact scan finds:
 *   connectivity 16, expansion add 128, search 256, f32 (before): 1.25 / 0.9897 / 0.9987
 *   16, 64, 256, f16:                                             0.59 / 0.9893 / 0.9983
 *   12, 64, 256, f16:                                             0.51 / 0.9863 / 0.9953
 *   12, 64, 128, f16:                                             0.33 / 0.9850 / 0.9939
 *   8, 32, 128, f32 (at 30k already 0.984 of pairs):              too lossy
 * f16 is faster than f32 here (half the bytes per distance) and halves the vectors' memory; its distances are
 * within ~1e-3 of f32 ones, and the clusterer re-ranks every hit with the full vectors anyway.
 * Search breadth, 16/64/f16, three runs each interleaved on the (noisy) 2-core machine, whole bench:
 *   search 256: 1,347-2,147 faces/s, 0.73-1.0 CPU-ms per face, recall@10 0.997-0.998, same-person pairs 0.9904-0.9908
 *   search 128 (default): 1,854-2,934 faces/s, 0.51-0.73 CPU-ms, recall@10 0.990, pairs 0.9896-0.9900
 * The clusterer only needs the neighbours under the pair threshold, which sit at the top of the list: the
 * narrower search loses 0.1% of those pairs, and the synthetic clusters' precision and recall agree to 3 decimals.
 * Insert breadth (16/f16/search 128; inserts are most of the index's time at 100k), five runs of 64 and of 48
 * interleaved: expansion add 64: 2,031-2,482 faces/s, pairs 0.9892-0.9898, recall@10 0.988-0.990;
 * 48 (default): 2,117-3,336 faces/s (median 3,050), pairs 0.9868-0.9888, recall@10 0.979-0.988; the synthetic
 * clusters' precision and recall agree to 3 decimals again (0.822 / 0.852).
 * At 1M faces and beyond (built on 2 threads from the same 1M covariance faces; 1,991 same-person pairs under
 * 0.5 within an exact scan's 33 nearest; found at search 128 / 256, faces missing themselves of 20,000 at 128):
 *   16, 48, f16:  232 s (4,305 faces/s), 0.978 / 0.987, 123
 *   16, 48, i8:   190 s (5,268 faces/s), 0.983 / 0.991, 64
 *   24, 48, i8:   229 s (4,368 faces/s), 0.990 / 0.994, 13
 * At 3M, 24/48 on f16 (the default) found 0.985 / 0.993 against 16/48's 0.959 / 0.982. i8 moves a quarter of
 * f16's bytes per distance and builds faster, but ranks by angle: the strangers it proposes are not quite the
 * nearest, so the rules' cohorts (ranks 12-40, re-scored) came out farther and wider than an exact scan's on 200
 * queries at 1M (mean +1.2%, sd +0.0057) where f16's were within 0.2% (+0.0003). ANN recall@10 at 3M fell from
 * 0.96 to 0.77. The cohorts calibrate the identity evidence, so i8 stays an option, not the default.
 * bf16 (the default since session 15) against f16, the same 500k faces, 24/48, built on 2 threads in pages of
 * 10,000 (scratch, two runs; 2,000 same-person pairs, 1,995 in an exact scan's reach): build CPU per face
 * 0.253 and 0.220 ms against f16's 0.305 and 0.339 (17-35% less: this CPU has AVX-512 BF16 dot products and
 * converts f16 first); query p50 at breadth 128 1.08 / 0.66 ms against 1.38 / 1.18; partners found at 32, 64,
 * 128, 256: 0.995, 0.9985, 0.998-0.999, 1.0 against f16's 0.9925, 0.997, 0.9975-0.998, 0.9985; the rules'
 * cohorts (ranks 12-40 of 200 queries, re-scored) as near an exact scan's as f16's (mean +0.24% and +0.23% at
 * 128, sd +0.0003 both). bf16 keeps 8 bits of mantissa, so its distances are within ~1.3e-3 where f16's are
 * within ~2e-4; every caller re-scores the hits with the f32 descriptors. f32 graphs: 0.50 CPU-ms per face.
 * Connectivity 32, insert breadth 64 (the default since session 17): at 10M faces 24/48 found only 0.988 of the
 * partners at breadth 512 (query p99 8.6 ms), the graph's quality running out between 3M and 10M. The same 3M
 * covariance faces, bf16, built on 2 threads in pages of 10,000 (scratch; 2,000 same-person pairs, 1,973 in an
 * exact scan's 32 nearest, +-0.25%), build seconds / index bytes per face / partners found (query p99 ms, one
 * search at a time) at search breadth 64, 128, 256:
 *   24/48: 349 s / 468 / 0.969 (0.47), 0.984 (0.96), 0.992 (1.67)
 *   32/48: 377 s /  -  / 0.980 (0.67), 0.990 (0.92), 0.996 (1.67)
 *   24/64: 447 s /  -  / 0.982 (0.69), 0.992 (1.24), 0.997 (1.83)
 *   32/64: 526 s / 532 / 0.991 (0.55), 0.995 (1.00), 0.999 (2.75); 1.000 at 512 (4.3)
 * 32/64 finds at breadth 64 what 24/48 finds at 256, in a third of the query time: the margin 10M needs. It
 * builds 1.5x slower (a full rebuild, only when the saved files are unusable) and takes 64 bytes more per face.
 * A second search seeded from the nearest other hit (query expansion) was also tried on 24/48: +0.2-0.7 points
 * for twice the time, less than doubling the breadth gives.
 */
export const DEFAULT_INDEX_OPTIONS = {
  connectivity: 32,
  expansionAdd: 64,
  expansionSearch: 128,
  quantization: 'bf16',
} as const satisfies UsearchIndexOptions;

/**
 * Below this many faces a batch goes in one face at a time (see UsearchIndex.addMany): a rebuild spends about
 * 17 s on them, and a gallery this size is where concurrent inserts were seen to strand faces.
 */
export const CONCURRENT_INSERT_FROM = 100_000;

const SCALAR_KIND: Record<IndexQuantization, ScalarKind> = {
  f32: ScalarKind.F32,
  f16: ScalarKind.F16,
  bf16: ScalarKind.BF16,
  i8: ScalarKind.I8,
};

/**
 * Approximate nearest neighbours over face descriptors (HNSW, usearch's prebuilt native library), in process.
 * Faces in Postgres are the source of truth: the cluster worker rebuilds it from them, or loads a saved copy
 * (UsearchIndexFile) and adds the faces stored since.
 */
export class UsearchIndex implements NeighbourIndex {
  private readonly index: Index;
  private readonly dimensions: number;
  readonly shape: UsearchIndexShape;
  /** Threads for batch searches and for batch inserts into a large graph (see addMany). A single search runs on
   * the caller's thread: usearch starts its threads anew on every call, which costs more than one search. */
  private readonly threads: number;
  private readonly concurrentInsertFrom: number;
  /** Placeholders in the graph (see {@link remove}), keyed PLACEHOLDER_KEYS + 0, 1, ... */
  private placeholders = 0;

  constructor(
    private readonly metric: Metric,
    dimensions: number,
    options: UsearchIndexOptions = {},
  ) {
    this.dimensions = dimensions;
    this.threads = options.threads ?? availableParallelism();
    this.concurrentInsertFrom = options.concurrentInsertFrom ?? CONCURRENT_INSERT_FROM;
    this.shape = {
      metric,
      dimensions,
      connectivity: options.connectivity ?? DEFAULT_INDEX_OPTIONS.connectivity,
      expansionAdd: options.expansionAdd ?? DEFAULT_INDEX_OPTIONS.expansionAdd,
      quantization: options.quantization ?? DEFAULT_INDEX_OPTIONS.quantization,
    };
    this.index = new Index({
      metric: metric === 'euclidean' ? MetricKind.L2sq : MetricKind.Cos,
      dimensions,
      connectivity: this.shape.connectivity,
      expansion_add: this.shape.expansionAdd,
      expansion_search: options.expansionSearch ?? DEFAULT_INDEX_OPTIONS.expansionSearch,
      quantization: SCALAR_KIND[this.shape.quantization],
      multi: false,
    });
  }

  /** Writes the index (graph and vectors) to a file. */
  save(file: string): void {
    this.index.save(file);
  }

  /** Replaces the contents by a file written by {@link save} (an index of the same shape). */
  load(file: string): void {
    this.index.load(file);
    this.placeholders = this.countPlaceholders();
  }

  /** Which of the faces are in the index. */
  contains(faceIds: readonly number[] | Float64Array): boolean[] {
    if (faceIds.length === 0) return [];
    const keys = keysOf(faceIds);
    const found = this.index.contains(keys);
    return Array.isArray(found) ? found : [found];
  }

  /** Faces in the index (placeholders are not faces). */
  get size(): number {
    return Number(this.index.size()) - this.placeholders;
  }

  /**
   * Takes faces out (an erasure) and scrubs their vectors. usearch's remove only marks a node deleted: its
   * vector stays in the slot, in memory and in every file saved, until an insert takes the slot (oldest freed
   * first). So each freed slot is taken at once by a placeholder, which overwrites it; the next faces added
   * replace placeholders. No slot is ever left free, so the next removal's slots are the ones the placeholders
   * take. Returns how many of the faces were in the index.
   */
  remove(faceIds: readonly number[]): number {
    if (faceIds.length === 0) return 0;
    const found = this.index.remove(keysOf(faceIds));
    const removed = (Array.isArray(found) ? found : [found]).reduce((sum, n) => sum + Number(n), 0);
    if (removed > 0) {
      // One at a time on one thread, so each takes the next freed slot.
      const vectors = placeholderVectors(this.placeholders, removed, this.dimensions);
      this.index.add(placeholderKeys(this.placeholders, removed), vectors, 1);
      this.placeholders += removed;
    }
    return removed;
  }

  /** Frees the slots of up to `count` placeholders for the faces about to be added (see {@link remove}). */
  private replacePlaceholders(count: number): void {
    const freed = Math.min(count, this.placeholders);
    if (freed === 0) return;
    this.placeholders -= freed;
    this.index.remove(placeholderKeys(this.placeholders, freed));
  }

  /** Placeholders in a loaded index: their keys are consecutive from PLACEHOLDER_KEYS. */
  private countPlaceholders(): number {
    const present = (n: number) => n === 0 || this.index.contains(PLACEHOLDER_KEYS + BigInt(n - 1)) === true;
    let high = 1;
    while (present(high)) high *= 2;
    if (high === 1) return 0;
    let low = high / 2;
    // present(low) holds, present(high) does not: the count lies in [low, high).
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (present(middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /**
   * Inserts one face, on the caller's thread. `threads` does not make it parallel (one key is one task); it sizes
   * usearch's per-thread contexts when this insert grows the index, and a batch search on more threads than
   * were reserved fails ("Reserve capacity ahead of searches!").
   */
  add(faceId: number, vector: Float32Array): void {
    this.replacePlaceholders(1);
    this.index.add(BigUint64Array.of(BigInt(faceId)), vector, this.threads);
  }

  /**
   * Inserts many faces: one by one on the caller's thread while the graph is small, then on all threads.
   * usearch's concurrent insert can strand a node (unum-cloud/USearch#735, fix unreleased): an inserter that
   * descends onto a node still linking its lower levels ends up attached by one edge that pruning drops. In a
   * small graph inserters meet often: with 2 threads, 300 random vectors and 30 builds, 0.3% of the faces no
   * longer found themselves, and 1 build in 2 had at least one. In a large one they seldom meet: 1M synthetic
   * faces built on 2 threads missed themselves as often as built one by one (17 and 13 of 20,000 at search
   * breadth 1,024; 100 and 95 at 128, the HNSW graph's own misses) and found as many same-person partners,
   * in 267 s instead of 466.
   */
  addMany(faceIds: readonly number[], vectors: readonly Float32Array[]): void {
    this.replacePlaceholders(faceIds.length);
    let next = 0;
    for (; next < faceIds.length && this.size < this.concurrentInsertFrom; next++) {
      this.add(faceIds[next]!, vectors[next]!);
    }
    if (next === faceIds.length) return;
    const keys = keysOf(faceIds.slice(next));
    this.index.add(keys, this.matrix(vectors.slice(next)), this.threads);
  }

  search(vector: Float32Array, k: number): Neighbour[] {
    const size = this.size;
    if (size === 0) return [];
    const matches = this.index.search(vector, this.wanted(k), 1);
    return this.hits(matches.keys, matches.distances, 0, matches.keys.length, k);
  }

  /** Searches many query vectors in one native call, on all threads. */
  searchMany(vectors: readonly Float32Array[], k: number): Neighbour[][] {
    const size = this.size;
    if (size === 0 || vectors.length === 0) return vectors.map(() => []);
    if (vectors.length === 1) return [this.search(vectors[0]!, k)];
    const wanted = this.wanted(k);
    // A flat matrix of several rows comes back as BatchMatches; usearch's overloads type it by argument only.
    const matches = this.index.search(this.matrix(vectors), wanted, this.threads) as unknown as BatchMatches;
    if (!(matches instanceof BatchMatches)) throw new Error('usearch returned single matches for a batch');
    return vectors.map((_, q) => this.hits(matches.keys, matches.distances, q * wanted, Number(matches.counts[q]), k));
  }

  /** Hits to ask usearch for: `k` faces, and room for placeholders that may come first (they are far). */
  private wanted(k: number): number {
    return Math.min(k + Math.min(k, this.placeholders), this.size + this.placeholders);
  }

  private hits(keys: BigUint64Array, distances: Float32Array, offset: number, count: number, k: number): Neighbour[] {
    const hits: Neighbour[] = [];
    for (let i = 0; i < count && hits.length < k; i++) {
      if (keys[offset + i]! >= PLACEHOLDER_KEYS) continue;
      const raw = distances[offset + i]!;
      // usearch's l2sq is the squared distance; thresholds are calibrated on the plain one. (An i8 graph's is of
      // unit vectors scaled to 127: a ranking only, re-scored by every caller.)
      const distance = this.metric === 'euclidean' ? Math.sqrt(Math.max(0, raw)) : raw;
      hits.push({ faceId: Number(keys[offset + i]!), distance });
    }
    return hits;
  }

  private matrix(vectors: readonly Float32Array[]): Float32Array {
    const flat = new Float32Array(vectors.length * this.dimensions);
    vectors.forEach((vector, i) => {
      if (vector.length !== this.dimensions) {
        throw new Error(`descriptor length ${vector.length}, index expects ${this.dimensions}`);
      }
      flat.set(vector, i * this.dimensions);
    });
    return flat;
  }
}

/**
 * Keys of the placeholders that fill the slots of removed faces (see UsearchIndex.remove): above every face id,
 * which stays below 2^53.
 */
const PLACEHOLDER_KEYS = 2n ** 62n;

/** The keys of placeholders `first` to `first + count - 1`. */
function placeholderKeys(first: number, count: number): BigUint64Array {
  return BigUint64Array.from({ length: count }, (_, i) => PLACEHOLDER_KEYS + BigInt(first + i));
}
/**
 * Placeholder vectors: far from any face descriptor (components within ±1), and each a little different, since
 * HNSW links many identical points poorly (every distance among them is 0).
 */
function placeholderVectors(first: number, count: number, dimensions: number): Float32Array {
  const vectors = new Float32Array(count * dimensions);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dimensions; d++)
      vectors[i * dimensions + d] =
        100 + ((Math.imul(first + i + 1, 0x9e3779b1) ^ Math.imul(d + 1, 0x85ebca6b)) >>> 24);
  }
  return vectors;
}

/**
 * usearch keys for face ids (non-negative integers below 2^53), written as two 32-bit halves: a BigInt per id
 * cost 0.5 s per million ids, which a restart checking 10M saved faces would pay.
 */
function keysOf(faceIds: ArrayLike<number>): BigUint64Array {
  const keys = new BigUint64Array(faceIds.length);
  const halves = new Uint32Array(keys.buffer);
  const [low, high] = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? [0, 1] : [1, 0];
  for (let i = 0; i < faceIds.length; i++) {
    const faceId = faceIds[i]!;
    if (!Number.isSafeInteger(faceId) || faceId < 0) throw new Error(`face id ${faceId} is not a usearch key`);
    halves[2 * i + low] = faceId % 2 ** 32;
    halves[2 * i + high] = Math.floor(faceId / 2 ** 32);
  }
  return keys;
}

import { createHash } from 'node:crypto';
import { existsSync, unlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsearchIndexFile } from '../../src/repositories/usearch-index-file.repository.js';
import { UsearchIndex } from '../../src/repositories/usearch-index.repository.js';
import type { ClusterStore } from '../../src/services/clustering/cluster.service.js';
import { ClusterService } from '../../src/services/clustering/cluster.service.js';
import type { ClusterChange } from '../../src/services/clustering/face-clusterer.js';
import { FaceVectorStore } from '../../src/services/clustering/face-vector-store.js';
import { MEMBERSHIP_PAGE } from '../../src/services/clustering/saved-gallery.js';
import { TEST_CLUSTER_RULES, TEST_IDENTITY_POLICY } from '../helpers/cluster-rules.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'simsift-index-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Faces of people with 1-3 photos each, 16-d, in a fixed order. */
function faces(count: number, seed = 5) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  const all: { faceId: number; vector: Float32Array }[] = [];
  for (let person = 0; all.length < count; person++) {
    const centre = Float32Array.from({ length: 16 }, () => next() * 0.5);
    for (let f = 0; f <= person % 3 && all.length < count; f++) {
      all.push({ faceId: all.length + 1, vector: centre.map((c) => c + next() * 0.1) });
    }
  }
  return all;
}

const create = () => new UsearchIndex('euclidean', 16, { threads: 1 });

/** A fresh index holding the faces. */
function indexOf(all: { faceId: number; vector: Float32Array }[]): UsearchIndex {
  const index = create();
  index.addMany(
    all.map((face) => face.faceId),
    all.map((face) => face.vector),
  );
  return index;
}

describe('UsearchIndexFile', () => {
  it("refuses to save a gallery that does not hold the index's faces", async () => {
    const all = faces(10);
    const index = indexOf(all);
    const file = new UsearchIndexFile(path.join(dir, 'short.usearch'), create);
    const page = { faceIds: Float64Array.of(1), clusterIds: Float64Array.of(1), vectors: all[0]!.vector };
    await expect(
      file.save(
        index,
        { lastFaceId: 10, lastEventId: 1, faces: 10 },
        { dimensions: 16, facesPerPage: 1, pages: [page] },
      ),
    ).rejects.toThrow('gallery holds 1 faces, the index 10');
    expect(await file.load()).toEqual({ unusable: 'no saved index' });
  });

  it('round-trips the index and its watermark', async () => {
    const all = faces(500);
    const index = indexOf(all);
    const file = new UsearchIndexFile(path.join(dir, 'index', 'face_recognition.usearch'), create);
    const watermark = { lastFaceId: 500, lastEventId: 42, faces: 500 };
    await file.save(index, watermark);
    const loaded = await file.load();
    if (!('index' in loaded)) throw new Error(loaded.unusable);
    expect(loaded.watermark).toEqual(watermark);
    expect(loaded.index.size).toBe(500);
    expect(loaded.index.contains([1, 500, 501])).toEqual([true, true, false]);
    for (const face of all.slice(0, 20)) {
      expect(loaded.index.search(face.vector, 5)).toEqual(index.search(face.vector, 5));
    }
  });

  it('reads a gallery of many pages back intact, and says why one of another size or damaged is unusable', async () => {
    const all = faces(300);
    const index = indexOf(all);
    // Pages of 64 faces: each column of each page is read at once, and checked in order.
    const store = new FaceVectorStore(64);
    all.forEach((face, i) => store.add(face.faceId, face.vector, 1 + (i % 7)));
    const pages = [...store.savedPages()];
    const file = new UsearchIndexFile(path.join(dir, 'paged.usearch'), create);
    await file.save(
      index,
      { lastFaceId: 300, lastEventId: 1, faces: 300 },
      { dimensions: 16, facesPerPage: 64, pages },
    );
    const loaded = await file.load();
    if (!('index' in loaded)) throw new Error(loaded.unusable);
    expect(loaded.gallery?.pages).toHaveLength(5);
    expect(loaded.gallery?.pages).toEqual(pages);

    const galleryFile = path.join(dir, 'paged.usearch.gallery');
    // The gallery is opened, and its reads queued, before usearch loads the graph (which blocks the thread):
    // removing the file from inside usearch's load changes nothing.
    class RemovingGalleryOnLoad extends UsearchIndex {
      override load(indexFile: string): void {
        unlinkSync(galleryFile);
        super.load(indexFile);
      }
    }
    const keptCopy = await readFile(galleryFile);
    const removing = new UsearchIndexFile(
      path.join(dir, 'paged.usearch'),
      () => new RemovingGalleryOnLoad('euclidean', 16, { threads: 1 }),
    );
    expect(await removing.load()).toMatchObject({ gallery: { pages } });
    await writeFile(galleryFile, keptCopy);
    const bytes = await readFile(galleryFile);
    // One byte changed in the third page's descriptors.
    const damaged = Buffer.from(bytes);
    damaged[2 * 64 * (16 + 16 * 4) + 64 * 16 + 5]! ^= 0xff;
    await writeFile(galleryFile, damaged);
    expect(await file.load()).toMatchObject({ galleryUnusable: 'gallery does not match its checksum' });
    await writeFile(galleryFile, bytes.subarray(0, bytes.length - 4));
    expect(await file.load()).toMatchObject({ galleryUnusable: 'gallery file has another size' });
    await rm(galleryFile);
    const withoutGallery = await file.load();
    expect(withoutGallery).toMatchObject({ galleryUnusable: 'gallery file missing' });
    expect('index' in withoutGallery && withoutGallery.index.size).toBe(300);
  });

  it("keeps a saved graph's own settings when the defaults have changed since, until a full rebuild", async () => {
    const all = faces(300);
    const built = new UsearchIndex('euclidean', 16, { threads: 1, quantization: 'f16', connectivity: 12 });
    built.addMany(
      all.map((face) => face.faceId),
      all.map((face) => face.vector),
    );
    await new UsearchIndexFile(path.join(dir, 'x.usearch'), create).save(built, {
      lastFaceId: 300,
      lastEventId: 1,
      faces: 300,
    });
    const asked: unknown[] = [];
    const file = new UsearchIndexFile(path.join(dir, 'x.usearch'), (graph) => {
      asked.push(graph);
      return new UsearchIndex('euclidean', 16, { threads: 1, ...graph });
    });
    const loaded = await file.load();
    if (!('index' in loaded)) throw new Error(loaded.unusable);
    expect(create().shape.quantization).toBe('bf16');
    expect(asked.at(-1)).toEqual({ quantization: 'f16', connectivity: 12, expansionAdd: built.shape.expansionAdd });
    expect((loaded.index as UsearchIndex).shape).toEqual(built.shape);
    for (const probe of all.slice(0, 50)) {
      expect(loaded.index.search(probe.vector, 5)).toEqual(built.search(probe.vector, 5));
    }
    // Settings this version does not build (a newer one's, or a damaged sidecar) mean a rebuild.
    const metaFile = path.join(dir, 'x.usearch.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { shape: object };
    for (const shape of [{ quantization: 'f8' }, { connectivity: 0 }, { expansionAdd: 2.5 }, { connectivity: '12' }]) {
      await writeFile(metaFile, JSON.stringify({ ...meta, shape: { ...meta.shape, ...shape } }));
      expect(await file.load()).toEqual({ unusable: 'saved index has graph settings this version does not build' });
    }
  });

  it('checks the whole of an index file longer than one read of its checksum (4 MB), to its last byte', async () => {
    const graph = { connectivity: 48 };
    const all = faces(20_000);
    const index = new UsearchIndex('euclidean', 16, { threads: 1, ...graph });
    index.addMany(
      all.map((face) => face.faceId),
      all.map((face) => face.vector),
    );
    const indexFile = path.join(dir, 'long.usearch');
    const file = new UsearchIndexFile(
      indexFile,
      (saved) => new UsearchIndex('euclidean', 16, { threads: 1, ...saved }),
    );
    await file.save(index, { lastFaceId: 20_000, lastEventId: 1, faces: 20_000 });
    const bytes = await readFile(indexFile);
    expect(bytes.length).toBeGreaterThan(2 * 4 * 2 ** 20);
    // The checksum is zlib's CRC-32 of the file's bytes, however they are read.
    const meta = JSON.parse(await readFile(`${indexFile}.json`, 'utf8')) as { crc32: number };
    expect(meta.crc32).toBe(crc32(bytes));
    expect(await file.load()).toMatchObject({ watermark: { faces: 20_000 } });
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(indexFile, bytes);
    expect(await file.load()).toEqual({ unusable: 'saved index does not match its checksum' });
  });

  it('checks the file before loading it when a start died during a load, and leaves no marker behind', async () => {
    const indexFile = path.join(dir, 'm.usearch');
    const marker = `${indexFile}.loading`;
    const file = new UsearchIndexFile(indexFile, create);
    await file.save(indexOf(faces(200)), { lastFaceId: 200, lastEventId: 1, faces: 200 });
    const seconds: unknown = expect.any(Number);
    // A start that loads while the checksum is computed beside it.
    const raced = await file.load();
    expect(raced).toMatchObject({ watermark: { faces: 200 }, timings: { indexChecksumAfterLoad: seconds } });
    expect(existsSync(marker)).toBe(false);
    // The marker a start leaves when it dies in usearch's load: the next start checks the file first.
    await writeFile(marker, '1\n');
    const checkedFirst = await file.load();
    expect(checkedFirst).toMatchObject({ watermark: { faces: 200 }, timings: { indexChecksum: seconds } });
    expect(checkedFirst).not.toMatchObject({ timings: { indexChecksumAfterLoad: seconds } });
    expect(existsSync(marker)).toBe(false);
    // Damaged, either way: refused, and no marker left.
    const bytes = await readFile(indexFile);
    bytes[bytes.length - 1]! ^= 0x01;
    await writeFile(indexFile, bytes);
    await writeFile(marker, '1\n');
    expect(await file.load()).toEqual({ unusable: 'saved index does not match its checksum' });
    expect(existsSync(marker)).toBe(false);
    expect(await file.load()).toEqual({ unusable: 'saved index does not match its checksum' });
    expect(existsSync(marker)).toBe(false);
  });

  it('reports a missing, corrupt or differently configured file as unusable', async () => {
    const file = new UsearchIndexFile(path.join(dir, 'x.usearch'), create);
    expect(await file.load()).toEqual({ unusable: 'no saved index' });
    const all = faces(200);
    const index = indexOf(all);
    await file.save(index, { lastFaceId: 200, lastEventId: 1, faces: 200 });
    // A caller that builds only its own graph settings cannot take a file built with others.
    const other = new UsearchIndexFile(
      path.join(dir, 'x.usearch'),
      () => new UsearchIndex('euclidean', 16, { connectivity: 8 }),
    );
    expect(await other.load()).toEqual({ unusable: 'saved index has other settings' });
    const longer = new UsearchIndexFile(path.join(dir, 'x.usearch'), () => new UsearchIndex('euclidean', 32));
    expect(await longer.load()).toEqual({ unusable: 'saved index has another metric or descriptor length' });
    const cosine = new UsearchIndexFile(path.join(dir, 'x.usearch'), () => new UsearchIndex('cosine', 16));
    expect(await cosine.load()).toEqual({ unusable: 'saved index has another metric or descriptor length' });
    // Written before inserts were made one at a time: it may hold unreachable faces, so it is rebuilt.
    const metaFile = path.join(dir, 'x.usearch.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { format: number };
    await writeFile(metaFile, JSON.stringify({ ...meta, format: 1 }));
    expect(await file.load()).toEqual({ unusable: 'saved index is of format 1' });
    await writeFile(metaFile, JSON.stringify(meta));
    const bytes = await readFile(path.join(dir, 'x.usearch'));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(path.join(dir, 'x.usearch'), bytes);
    expect(await file.load()).toEqual({ unusable: 'saved index does not match its checksum' });
  });

  it('still loads files an earlier version saved with SHA-256 checksums, and still checks them', async () => {
    const all = faces(300);
    const index = indexOf(all);
    const vectors = new Float32Array(300 * 16);
    all.forEach((face, i) => vectors.set(face.vector, i * 16));
    const page = {
      faceIds: Float64Array.from(all, (face) => face.faceId),
      clusterIds: new Float64Array(300).fill(1),
      vectors,
    };
    const file = new UsearchIndexFile(path.join(dir, 'old.usearch'), create);
    await file.save(
      index,
      { lastFaceId: 300, lastEventId: 1, faces: 300 },
      { dimensions: 16, facesPerPage: 300, pages: [page] },
    );
    // The sidecar as an earlier version wrote it: SHA-256 of each file, no CRC-32.
    const metaFile = path.join(dir, 'old.usearch.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as Record<string, unknown> & {
      gallery: Record<string, unknown>;
    };
    expect(typeof meta.crc32).toBe('number');
    expect(typeof meta.gallery.crc32).toBe('number');
    const sha256 = async (name: string) =>
      createHash('sha256')
        .update(await readFile(path.join(dir, name)))
        .digest('hex');
    const { crc32: _index, ...indexMeta } = meta;
    const { crc32: _gallery, ...galleryMeta } = meta.gallery;
    const legacy = {
      ...indexMeta,
      sha256: await sha256('old.usearch'),
      gallery: { ...galleryMeta, sha256: await sha256('old.usearch.gallery') },
    };
    await writeFile(metaFile, JSON.stringify(legacy));
    const loaded = await file.load();
    if (!('index' in loaded)) throw new Error(loaded.unusable);
    expect(loaded.index.size).toBe(300);
    expect(loaded.gallery?.pages[0]?.faceIds).toEqual(page.faceIds);

    await writeFile(metaFile, JSON.stringify({ ...legacy, gallery: { ...legacy.gallery, sha256: '0'.repeat(64) } }));
    expect(await file.load()).toMatchObject({ galleryUnusable: 'gallery does not match its checksum' });
    await writeFile(metaFile, JSON.stringify({ ...legacy, sha256: '0'.repeat(64) }));
    expect(await file.load()).toEqual({ unusable: 'saved index does not match its checksum' });
  });
});

/** Postgres as the cluster service sees it: faces with their clusters, events as a counter. */
class FakeStore implements ClusterStore {
  faces: { faceId: number; vector: Float32Array; clusterId: number | null }[] = [];
  events = 0;
  async loadFaces(_embedder: string, after = 0, limit = 100_000) {
    return this.faces.filter((face) => face.faceId > after).slice(0, limit);
  }
  async loadMemberships(_embedder: string, lastFaceId = Number.POSITIVE_INFINITY) {
    const faces = this.faces.filter((face) => face.faceId <= lastFaceId);
    const pages = [];
    for (let from = 0; from < faces.length; from += MEMBERSHIP_PAGE) {
      const page = faces.slice(from, from + MEMBERSHIP_PAGE);
      pages.push({
        faceIds: Float64Array.from(page, (face) => face.faceId),
        clusterIds: Float64Array.from(page, (face) => face.clusterId ?? Number.NaN),
      });
    }
    return pages;
  }
  async lastEventId() {
    return this.events;
  }
  reembedEventId = 0;
  async lastReembedEventId() {
    return this.reembedEventId;
  }
  async applyChanges(_embedder: string, changes: readonly ClusterChange[]) {
    for (const change of changes) {
      if (change.kind === 'created' || change.kind === 'joined') {
        this.faces.find((face) => face.faceId === change.faceId)!.clusterId = change.clusterId;
      } else if (change.kind === 'merged') {
        for (const face of this.faces) if (face.clusterId === change.absorbedId) face.clusterId = change.clusterId;
      }
      this.events++;
    }
    return this.events;
  }
  async subscriberRecords() {
    return [];
  }
  async photoLinks() {
    return [];
  }
  async clustersWithDocument() {
    return [];
  }
  async facesWithPhoto() {
    return [];
  }
  async relatedClusters() {
    return [];
  }
  async replaceClusters() {
    return this.events;
  }
  async unjudgedClusters() {
    return [];
  }
  async unclusteredFaces(_embedder: string, fromId: number, toId: number) {
    return this.faces
      .filter((face) => face.faceId > fromId && face.faceId <= toId && face.clusterId === null)
      .map((face) => ({ ...face, clusterId: null }));
  }
  async constraints() {
    return [];
  }
  async saveVerdicts() {}
}

const FROM_GALLERY = ', descriptors from its gallery';

/** 300 faces clustered by a worker that saved its index as `name`: the saved files, the store and the worker. */
async function clusteredAndSaved(name: string) {
  const all = faces(300);
  const store = new FakeStore();
  store.faces = all.map((face) => ({ ...face, clusterId: null }));
  const file = new UsearchIndexFile(path.join(dir, name), create);
  const first = new ClusterService(store, 'face_recognition', TEST_CLUSTER_RULES, create, TEST_IDENTITY_POLICY, file);
  await first.clusterPending();
  await first.saveIndex();
  return { all, store, file, first };
}

describe('ClusterService with a saved index', () => {
  const rules = TEST_CLUSTER_RULES;

  it("reads Postgres's ids and clusters while the saved files load, and ignores a failed read when unused", async () => {
    const { all, store, file, first } = await clusteredAndSaved('p.usearch');
    // The files finish loading only once the ids and clusters were asked for: a start that read
    // them after loading would wait here for ever (the test's timeout).
    let asked!: () => void;
    const membershipsAsked = new Promise<void>((resolve) => (asked = resolve));
    const readMemberships = store.loadMemberships.bind(store);
    store.loadMemberships = (...args) => {
      asked();
      return readMemberships(...args);
    };
    const waiting = {
      load: async () => {
        await membershipsAsked;
        return file.load();
      },
      save: file.save.bind(file),
    };
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, waiting);
    const restarted = await second.rebuild();
    expect(restarted).toMatchObject({ faces: 300, savedIndex: `loaded (300 faces)${FROM_GALLERY}` });
    // Its log says where the time went: the files (each part) and Postgres's read, in seconds from the start.
    const seconds: unknown = expect.any(Number);
    expect(restarted.timings).toEqual({
      filesLoaded: seconds,
      membershipsRead: seconds,
      fileParts: { indexLoad: seconds, indexChecksumAfterLoad: seconds, gallery: seconds },
    });
    expect(restarted.timings.membershipsRead!).toBeLessThanOrEqual(restarted.seconds);
    expect(await second.match(all[7]!.vector)).toEqual(await first.match(all[7]!.vector));

    // The read fails while the saved index is unusable: the full rebuild goes on, no unhandled rejection.
    store.loadMemberships = () => Promise.reject(new Error('connection lost'));
    const unusable = { load: async () => ({ unusable: 'no saved index' }), save: file.save.bind(file) };
    const third = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, unusable);
    expect(await third.rebuild()).toMatchObject({ faces: 300, savedIndex: 'no saved index' });
    // With a usable one the failure is the start's.
    const fourth = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    await expect(fourth.rebuild()).rejects.toThrow('connection lost');
  });

  it('loads the saved index at start, inserts only newer faces, and falls back to a full rebuild', async () => {
    const all = faces(900);
    const store = new FakeStore();
    store.faces = all.slice(0, 600).map((face) => ({ ...face, clusterId: null }));
    const file = new UsearchIndexFile(path.join(dir, 'index', 'face_recognition.usearch'), create);
    const first = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect((await first.rebuild()).savedIndex).toBe('no saved index');
    await first.clusterPending();
    expect(await first.saveIndex()).toEqual({ faces: 600 });
    const clustersAt600 = new Map(store.faces.map((face) => [face.faceId, face.clusterId]));

    // More faces arrive; a new worker starts from the saved index and clusters them.
    store.faces.push(...all.slice(600).map((face) => ({ ...face, clusterId: null })));
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await second.rebuild()).toMatchObject({ faces: 600, savedIndex: `loaded (600 faces)${FROM_GALLERY}` });
    await second.clusterPending();
    for (const [faceId, clusterId] of clustersAt600) {
      expect(store.faces.find((face) => face.faceId === faceId)!.clusterId).toBe(clusterId);
    }
    expect(await second.saveIndex()).toEqual({ faces: 900 });

    // The same clusters from the saved index as from a full rebuild, and newer faces find older ones.
    const third = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await third.rebuild()).toMatchObject({ faces: 900, savedIndex: `loaded (900 faces)${FROM_GALLERY}` });
    const probe = all[650]!.vector;
    const full = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY);
    await full.rebuild();
    expect(await third.match(probe)).toEqual(await full.match(probe));

    // `simsift reembed` recomputed the stored descriptors after the save: the file's vectors are old.
    store.reembedEventId = store.events + 1;
    expect(await third.rebuild()).toMatchObject({
      faces: 900,
      savedIndex: 'saved before the stored descriptors were recomputed (simsift reembed)',
    });
    store.reembedEventId = 0;

    // Postgres restored from a backup taken before the save: its events end earlier, and face ids will repeat.
    const events = store.events;
    store.events = events - 1;
    expect(await third.rebuild()).toMatchObject({
      faces: 900,
      savedIndex: 'saved after the last cluster event in Postgres: the database was restored from a backup',
    });
    store.events = events;

    // A face erased from Postgres since the save: dropped from the loaded index and gallery, not a full rebuild,
    // and the files are saved again at once, without it.
    const [erased] = store.faces.splice(10, 1);
    store.events++;
    expect(await third.rebuild()).toMatchObject({
      faces: 899,
      savedIndex: `loaded (900 faces)${FROM_GALLERY}; 1 saved faces erased since, dropped from it`,
    });
    const afterErasure = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY);
    await afterErasure.rebuild();
    expect(await third.match(probe)).toEqual(await afterErasure.match(probe));
    expect((await third.match(erased!.vector)).map((match) => match.clusterId)).toEqual(
      (await afterErasure.match(erased!.vector)).map((match) => match.clusterId),
    );
    const galleryFile = path.join(dir, 'index', 'face_recognition.usearch.gallery');
    const erasedBytes = Buffer.from(erased!.vector.buffer, erased!.vector.byteOffset, erased!.vector.byteLength);
    expect((await readFile(galleryFile)).includes(erasedBytes)).toBe(true);
    expect(await third.clusterPending()).toMatchObject({ faces: 0, indexSaved: { faces: 899 } });
    expect((await readFile(galleryFile)).includes(erasedBytes)).toBe(false);
    const fourth = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await fourth.rebuild()).toMatchObject({ faces: 899, savedIndex: `loaded (899 faces)${FROM_GALLERY}` });
    expect(await fourth.match(probe)).toEqual(await afterErasure.match(probe));

    // A corrupt file: a full rebuild, same clusters.
    const bytes = await readFile(path.join(dir, 'index', 'face_recognition.usearch'));
    bytes[100]! ^= 0xff;
    await writeFile(path.join(dir, 'index', 'face_recognition.usearch'), bytes);
    expect(await third.rebuild()).toMatchObject({ faces: 899, savedIndex: 'saved index does not match its checksum' });
  });
  /** 600 faces but face 50 clustered and saved; then face 50 commits late, not yet clustered. */
  async function savedBeforeFace50(fileName: string) {
    const all = faces(600);
    const store = new FakeStore();
    store.faces = all.filter((face) => face.faceId !== 50).map((face) => ({ ...face, clusterId: null }));
    const file = new UsearchIndexFile(path.join(dir, fileName), create);
    const first = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    await first.clusterPending();
    expect(await first.saveIndex()).toEqual({ faces: 599 });
    store.faces.splice(49, 0, { ...all[49]!, clusterId: null });
    return { all, store, file, first };
  }

  it('inserts a face that committed late and was clustered after the save', async () => {
    const { all, store, file, first } = await savedBeforeFace50('late.usearch');
    await first.clusterPending();
    expect(store.faces[49]!.clusterId).not.toBeNull();
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await second.rebuild()).toMatchObject({ faces: 600, savedIndex: `loaded (599 faces)${FROM_GALLERY}` });
    expect(await second.match(all[49]!.vector)).toEqual(await first.match(all[49]!.vector));
  });

  it('loads the saved pair when a face below its watermark is still pending, and clusters that face next', async () => {
    // The worker stops before clustering face 50.
    const { all, store, file } = await savedBeforeFace50('pending.usearch');
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await second.rebuild()).toMatchObject({ faces: 599, savedIndex: `loaded (599 faces)${FROM_GALLERY}` });
    expect(await second.clusterPending()).toMatchObject({ faces: 1 });
    expect(store.faces[49]!.clusterId).not.toBeNull();
    const full = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY);
    await full.rebuild();
    for (const face of all.slice(40, 60))
      expect(await second.match(face.vector)).toEqual(await full.match(face.vector));
  });

  it('catches up in memory with an erasure and a moved face: no file loaded, no descriptor read', async () => {
    const all = faces(600);
    const store = new FakeStore();
    store.faces = all.map((face) => ({ ...face, clusterId: null }));
    const file = new UsearchIndexFile(path.join(dir, 'live.usearch'), create);
    const sources: string[] = [];
    const metrics = {
      indexSize: () => {},
      indexRebuilt: (_: string, __: number, source: string) => sources.push(source),
    };
    const live = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file, metrics);
    await live.clusterPending();
    expect(await live.saveIndex()).toEqual({ faces: 600 });
    expect(sources).toEqual(['postgres']);

    // Another writer erases face 20 and moves face 7 into face 400's cluster.
    const [erased] = store.faces.splice(19, 1);
    store.faces[6]!.clusterId = store.faces[398]!.clusterId;
    store.events += 2;
    const descriptorReads: number[] = [];
    const loadFaces = store.loadFaces.bind(store);
    store.loadFaces = async (embedder, after, limit) => {
      descriptorReads.push(after ?? 0);
      return loadFaces(embedder, after, limit);
    };
    const galleryFile = path.join(dir, 'live.usearch.gallery');
    const erasedBytes = Buffer.from(erased!.vector.buffer, erased!.vector.byteOffset, erased!.vector.byteLength);
    expect((await readFile(galleryFile)).includes(erasedBytes)).toBe(true);
    // Nothing new to cluster, yet the files are saved again: they held the erased face.
    expect(await live.clusterPending()).toMatchObject({ faces: 0, indexSaved: { faces: 599 } });
    expect(sources).toEqual(['postgres', 'in_memory']);
    expect(descriptorReads.every((after) => after >= 600)).toBe(true);
    expect((await readFile(galleryFile)).includes(erasedBytes)).toBe(false);

    const full = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY);
    await full.rebuild();
    for (const vector of [erased!.vector, all[6]!.vector, all[399]!.vector, all[550]!.vector]) {
      expect(await live.match(vector)).toEqual(await full.match(vector));
    }
    const movedTo = store.faces[398]!.clusterId!;
    const size = store.faces.filter((face) => face.clusterId === movedTo).length;
    expect((await live.match(all[399]!.vector)).find((match) => match.clusterId === movedTo)?.size).toBe(size);
  });

  it('reads no saved descriptor from Postgres, only ids and clusters, and follows Postgres on clusters', async () => {
    const all = faces(700);
    const store = new FakeStore();
    store.faces = all.slice(0, 500).map((face) => ({ ...face, clusterId: null }));
    const file = new UsearchIndexFile(path.join(dir, 'gallery.usearch'), create);
    const first = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    await first.clusterPending();
    expect(await first.saveIndex()).toEqual({ faces: 500 });
    // After the save: 200 more faces, and another writer moved face 7 into face 400's cluster.
    store.faces.push(...all.slice(500).map((face) => ({ ...face, clusterId: null })));
    await first.clusterPending();
    store.faces[6]!.clusterId = store.faces[399]!.clusterId;
    store.events++;

    const descriptorReads: number[] = [];
    const loadFaces = store.loadFaces.bind(store);
    store.loadFaces = async (embedder, after, limit) => {
      descriptorReads.push(after ?? 0);
      return loadFaces(embedder, after, limit);
    };
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await second.rebuild()).toMatchObject({ faces: 700, savedIndex: `loaded (500 faces)${FROM_GALLERY}` });
    expect(Math.min(...descriptorReads)).toBe(500);
    store.loadFaces = loadFaces;
    const full = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY);
    await full.rebuild();
    for (const faceId of [7, 400, 650]) {
      const vector = all[faceId - 1]!.vector;
      expect(await second.match(vector)).toEqual(await full.match(vector));
    }
    // Face 7 counts in face 400's cluster, as Postgres says, not in the one the gallery saved.
    const movedTo = store.faces[399]!.clusterId!;
    const size = store.faces.filter((face) => face.clusterId === movedTo).length;
    expect(size).toBeGreaterThan(1);
    expect((await second.match(all[399]!.vector)).find((match) => match.clusterId === movedTo)?.size).toBe(size);
  });

  it('takes the descriptors from Postgres when the gallery is corrupt or missing', async () => {
    const { all, store, file, first } = await clusteredAndSaved('g.usearch');
    const galleryFile = path.join(dir, 'g.usearch.gallery');
    const original = await readFile(galleryFile);
    const bytes = Buffer.from(original);
    bytes[bytes.length - 3]! ^= 0xff;
    await writeFile(galleryFile, bytes);
    const second = new ClusterService(store, 'face_recognition', rules, create, TEST_IDENTITY_POLICY, file);
    expect(await second.rebuild()).toMatchObject({
      faces: 300,
      savedIndex: 'loaded (300 faces), descriptors from Postgres: gallery does not match its checksum',
    });
    expect(await second.match(all[5]!.vector)).toEqual(await first.match(all[5]!.vector));

    // Whole (its checksum holds) but written wrong: a face twice.
    await writeFile(galleryFile, original);
    const loaded = await file.load();
    if (!('gallery' in loaded) || !loaded.gallery) throw new Error('no gallery saved');
    const [page] = loaded.gallery.pages;
    page!.faceIds[1] = page!.faceIds[0]!;
    await file.save(loaded.index, loaded.watermark, loaded.gallery);
    expect(await second.rebuild()).toMatchObject({
      faces: 300,
      savedIndex:
        'loaded (300 faces), descriptors from Postgres: saved gallery unusable: saved face id 1 is not an integer or is stored twice',
    });

    await rm(galleryFile);
    expect(await second.rebuild()).toMatchObject({
      savedIndex: 'loaded (300 faces), descriptors from Postgres: gallery file missing',
    });
    expect(await second.match(all[5]!.vector)).toEqual(await first.match(all[5]!.vector));
  });
});

describe('ClusterService full rebuild from Postgres', () => {
  it('reads the next page of faces while a page goes into the graph, and fails on a failed read', async () => {
    const all = faces(12_500);
    const store = new FakeStore();
    store.faces = all.map((face) => ({ ...face, clusterId: face.faceId }));
    let index: UsearchIndex | undefined;
    const watched = () => (index = create());
    const graphSizeAtRead: number[] = [];
    const loadFaces = store.loadFaces.bind(store);
    store.loadFaces = async (embedder, after, limit) => {
      graphSizeAtRead.push(index?.size ?? 0);
      return loadFaces(embedder, after, limit);
    };
    const service = new ClusterService(store, 'face_recognition', TEST_CLUSTER_RULES, watched, TEST_IDENTITY_POLICY);
    expect(await service.rebuild()).toMatchObject({ faces: 12_500, savedIndex: 'not kept' });
    // Pages of 10,000: the second was asked for before the first went in, the third (empty) before the second.
    expect(graphSizeAtRead).toEqual([0, 0, 10_000]);
    expect(index!.size).toBe(12_500);
    for (const faceId of [1, 10_001, 12_500]) {
      expect((await service.match(all[faceId - 1]!.vector))[0]).toMatchObject({ clusterId: faceId });
    }

    // The second page's read fails while the first goes in: the rebuild fails with it (no unhandled rejection).
    store.loadFaces = async (embedder, after, limit) =>
      after === 0 ? loadFaces(embedder, after, limit) : Promise.reject(new Error('connection lost'));
    const failing = new ClusterService(store, 'face_recognition', TEST_CLUSTER_RULES, create, TEST_IDENTITY_POLICY);
    await expect(failing.rebuild()).rejects.toThrow('connection lost');
  });
});

import { describe, expect, it } from 'vitest';
import { ReembedService, type ReembedDeps } from '../../src/services/reembed.service.js';

const EMBEDDER = { name: 'face_recognition', version: '@vladmandic/face-api@1.7.15+d2' };

/** Faces in Postgres as the service sees them; queued records are "re-embedded" a page per poll. */
function fakes(staleRecords: number[], perPoll = 2) {
  const stale = new Set(staleRecords);
  const queued: { recordIds: number[]; runId: string }[] = [];
  const calls: string[] = [];
  const deps: ReembedDeps = {
    faces: {
      countStaleFaces: async () => {
        // The face workers take up to `perPoll` queued records between two polls.
        const waiting = queued.flatMap((q) => q.recordIds).filter((id) => stale.has(id));
        for (const id of waiting.slice(0, perPoll)) stale.delete(id);
        return stale.size;
      },
      staleFaces: async (_embedder, _version, after, limit) =>
        [...stale]
          .sort((a, b) => a - b)
          .map((recordId) => ({ faceId: recordId * 10, recordId }))
          .filter((face) => face.faceId > after)
          .slice(0, limit),
    },
    queue: {
      enqueue: async (recordIds, runId) => {
        queued.push({ recordIds: [...recordIds], runId });
      },
    },
    clusters: {
      markReembedded: async (_name, faces) => {
        calls.push(`marked ${faces}`);
        return 1;
      },
      recluster: async () => {
        calls.push('reclustered');
        return { moved: 0 };
      },
    },
  };
  return { deps, queued, calls, stale };
}

describe('ReembedService', () => {
  it('queues every face with an old descriptor, waits for the workers, then reloads and reclusters', async () => {
    const { deps, queued, calls } = fakes([3, 1, 2, 5, 4]);
    const progress: number[] = [];
    const service = new ReembedService(deps, { pageSize: 2, pollMs: 1, stallMs: 1_000 });
    const result = await service.run(EMBEDDER, {
      onStart: (n) => progress.push(n),
      onProgress: (left) => progress.push(left),
    });
    expect(queued.flatMap((q) => q.recordIds)).toEqual([1, 2, 3, 4, 5]);
    // One run id for the run, unlike the upload's job ids (which Redis may still hold).
    expect(new Set(queued.map((q) => q.runId)).size).toBe(1);
    expect(progress[0]).toBe(5);
    expect(progress.at(-1)).toBe(0);
    expect(calls).toEqual(['marked 5', 'reclustered']);
    expect(result).toMatchObject({ queued: 5, reembedded: 5 });
  });

  it('does nothing when every descriptor is current, and resumes where a stopped run left off', async () => {
    const done = fakes([]);
    expect(await new ReembedService(done.deps, { pageSize: 10, pollMs: 1, stallMs: 1_000 }).run(EMBEDDER)).toEqual({
      queued: 0,
      reembedded: 0,
      reclustered: null,
    });
    expect(done.calls).toEqual([]);

    // No worker running: the run stops with a message, nothing is marked; the next run takes up what is left.
    const stalled = fakes([1, 2, 3], 0);
    const service = new ReembedService(stalled.deps, { pageSize: 10, pollMs: 1, stallMs: 20 });
    await expect(service.run(EMBEDDER)).rejects.toThrow(/3 faces still have old descriptors.*simsift worker/);
    expect(stalled.calls).toEqual([]);
    stalled.stale.delete(1);
    const resumed = fakes([...stalled.stale]);
    await new ReembedService(resumed.deps, { pageSize: 10, pollMs: 1, stallMs: 1_000 }).run(EMBEDDER);
    expect(resumed.queued.flatMap((q) => q.recordIds)).toEqual([2, 3]);
    expect(resumed.calls).toEqual(['marked 2', 'reclustered']);
  });
});

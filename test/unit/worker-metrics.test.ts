import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { QueueName } from '../../src/jobs/job-registry.js';
import { queueWaitSeconds } from '../../src/jobs/queue-worker.js';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';
import { WorkerMetrics } from '../../src/metrics/worker.metrics.js';
import { CheckEvaluatorService, type CheckMetrics } from '../../src/services/checks/check-evaluator.service.js';
import {
  FacePipelineService,
  type FaceImages,
  type FaceModels,
  type PipelineMetrics,
} from '../../src/services/face-pipeline.service.js';
import { sampleValue } from '../helpers/metrics.js';

describe('queue wait', () => {
  const job = { timestamp: 1_000_000, processedOn: 1_002_500, attemptsStarted: 1, attemptsMade: 0, delay: 0 };

  it('is the time from enqueue to the first start', () => {
    expect(queueWaitSeconds(job)).toBe(2.5);
  });

  it('starts when a delayed job became due', () => {
    expect(queueWaitSeconds({ ...job, delay: 2_000 })).toBe(0.5);
  });

  it('is not taken for a retry or a stalled job started again, whose wait counts earlier attempts', () => {
    expect(queueWaitSeconds({ ...job, attemptsMade: 1, attemptsStarted: 2 })).toBeNull();
    expect(queueWaitSeconds({ ...job, attemptsStarted: 2 })).toBeNull();
    expect(queueWaitSeconds({ ...job, processedOn: undefined })).toBeNull();
  });

  it('is never negative when the consuming host runs behind the producing one', () => {
    expect(queueWaitSeconds({ ...job, processedOn: job.timestamp - 300 })).toBe(0);
  });
});

describe('WorkerMetrics', () => {
  it('records photos, stage timings, queue waits, checks and the index into one registry', async () => {
    const metrics = new WorkerMetrics();
    const empty = await metrics.registry.metrics();
    // Labelled series appear only once recorded: a face worker shows no index size, not a size of 0.
    expect(sampleValue(empty, 'simsift_cluster_index_faces')).toBeUndefined();
    expect(sampleValue(empty, 'simsift_photos_processed_total')).toBeUndefined();
    expect(sampleValue(empty, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);

    metrics.photoProcessed('face_ready', { decode: 12, detect: 48, descriptor: 27, db: 3 });
    metrics.photoProcessed('no_face', { decode: 10, detect: 95 });
    metrics.jobWaited(QueueName.Faces, 4.2);
    metrics.jobFinished(QueueName.Faces, 'failed', 0.2);
    metrics.checked('face_ready', 0.31);
    metrics.indexSize('face_recognition', 1234);
    metrics.indexRebuilt('face_recognition', 3.5, 'saved_index');
    const text = await metrics.registry.metrics();

    expect(sampleValue(text, 'simsift_photos_processed_total', { state: 'face_ready' })).toBe(1);
    expect(sampleValue(text, 'simsift_photos_processed_total')).toBe(2);
    expect(sampleValue(text, 'simsift_face_stage_duration_seconds_count', { stage: 'detect' })).toBe(2);
    expect(sampleValue(text, 'simsift_face_stage_duration_seconds_sum', { stage: 'detect' })).toBeCloseTo(0.143);
    // 48 ms falls in the 0.05 s bucket, 95 ms only from 0.1 s.
    expect(sampleValue(text, 'simsift_face_stage_duration_seconds_bucket', { stage: 'detect', le: '0.05' })).toBe(1);
    expect(sampleValue(text, 'simsift_face_stage_duration_seconds_bucket', { stage: 'detect', le: '0.1' })).toBe(2);
    expect(sampleValue(text, 'simsift_face_stage_duration_seconds_count', { stage: 'descriptor' })).toBe(1);
    expect(sampleValue(text, 'simsift_queue_wait_seconds_sum', { queue: 'faces' })).toBeCloseTo(4.2);
    expect(sampleValue(text, 'simsift_job_duration_seconds_count', { queue: 'faces', result: 'failed' })).toBe(1);
    expect(sampleValue(text, 'simsift_check_duration_seconds_count', { outcome: 'face_ready' })).toBe(1);
    expect(sampleValue(text, 'simsift_cluster_index_faces', { embedder: 'face_recognition' })).toBe(1234);
    expect(sampleValue(text, 'simsift_cluster_index_rebuild_seconds', { embedder: 'face_recognition' })).toBe(3.5);
    expect(sampleValue(text, 'simsift_cluster_index_rebuilds_total', { source: 'saved_index' })).toBe(1);
    expect(text).not.toMatch(/simsift_(process|nodejs)_/);
  });
});

describe('services record through their metrics interfaces', () => {
  it('the face pipeline reports a photo it took to a final state, with the stages it ran', async () => {
    const recorded: Parameters<PipelineMetrics['photoProcessed']>[] = [];
    const unreadable = Object.assign(new Error('not an image'), { name: 'UnreadableImageError' });
    const service = new FacePipelineService({
      store: {
        findRecordPhoto: (recordId) =>
          Promise.resolve(
            recordId === 1 ? { recordId, photoSha256: Buffer.alloc(32), mimeType: 'image/jpeg' as const } : null,
          ),
        saveFace: () => Promise.reject(new Error('no face expected')),
        saveOutcome: () => Promise.resolve(),
      },
      photos: { read: () => Promise.resolve(Buffer.from('not a photo')) },
      images: { decode: () => Promise.reject(unreadable) } as unknown as FaceImages,
      models: {} as FaceModels,
      clusterQueue: { enqueueFaces: () => Promise.resolve() },
      thresholds: {} as never,
      metrics: { photoProcessed: (...args) => recorded.push(args) },
    });

    expect((await service.processRecord(1)).state).toBe('unreadable_image');
    // A record deleted meanwhile processed no photo.
    expect((await service.processRecord(2)).state).toBeNull();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]![0]).toBe('unreadable_image');
    expect(Object.keys(recorded[0]![1]).sort()).toEqual(['db', 'decode', 'read']);
  });

  it("a check reports its time with the face state it found, or 'error' when it failed", async () => {
    const recorded: Parameters<CheckMetrics['checked']>[] = [];
    const metrics: CheckMetrics = { checked: (...args) => recorded.push(args) };
    const payload = {
      photoBase64: '',
      record: { msisdn: '9800000001', name: 'A', dob: null, lsa: 'DL', idHmacHex: '00' },
    };
    const matcher = { match: () => Promise.resolve([]), judgeProbe: () => Promise.reject(new Error('unused')) };
    const store = { clusterReasons: () => Promise.resolve(new Map()) };
    const noFace = new CheckEvaluatorService({
      analyser: { analyse: () => Promise.resolve({ state: 'no_face', detail: {} }) },
      matcher,
      store,
      metrics,
    });
    await noFace.evaluate(payload);
    const failing = new CheckEvaluatorService({
      analyser: { analyse: () => Promise.reject(new Error('models gone')) },
      matcher,
      store,
      metrics,
    });
    await expect(failing.evaluate(payload)).rejects.toThrow('models gone');

    expect(recorded.map(([outcome]) => outcome)).toEqual(['no_face', 'error']);
    for (const [, seconds] of recorded) expect(seconds).toBeGreaterThanOrEqual(0);
  });
});

describe('the worker metrics server', () => {
  it('serves the registry on /metrics only', async () => {
    const metrics = new WorkerMetrics();
    metrics.indexSize('face_recognition', 7);
    const endpoint = await startMetricsServer(metrics.registry, { host: '127.0.0.1', port: 0 });
    try {
      expect(endpoint.url).toBe(`http://127.0.0.1:${endpoint.port}/metrics`);
      const response = await fetch(endpoint.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
      expect(sampleValue(await response.text(), 'simsift_cluster_index_faces')).toBe(7);
      expect((await fetch(endpoint.url.replace('/metrics', '/healthz'))).status).toBe(404);
      expect((await fetch(endpoint.url, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await endpoint.close();
    }
  });

  it('fails to start on a port already taken, instead of running without metrics', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      await expect(startMetricsServer(new WorkerMetrics().registry, { host: '127.0.0.1', port })).rejects.toThrow(
        /EADDRINUSE/,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { JOB_QUEUE, JobName, QueueName } from '../../src/jobs/job-registry.js';
import { handlerGaps, startQueueWorker } from '../../src/jobs/queue-worker.js';

const handler = () => Promise.resolve(null);
const options = { redisUrl: 'redis://127.0.0.1:1', prefix: 'never-connected', logger: { warn() {}, error() {} } };

describe('the job registry and its workers', () => {
  it('puts every job on a queue', () => {
    for (const name of Object.values(JobName)) expect(Object.values(QueueName)).toContain(JOB_QUEUE[name]);
  });

  it('finds a job of the queue without a handler, and a handler for another queue', () => {
    expect(handlerGaps(QueueName.Cluster, { [JobName.ClusterFace]: handler })).toEqual({
      missing: [JobName.ApplyConstraints],
      foreign: [],
    });
    expect(handlerGaps(QueueName.Faces, { [JobName.EmbedRecord]: handler, [JobName.CheckFace]: handler })).toEqual({
      missing: [],
      foreign: [JobName.CheckFace],
    });
    expect(
      handlerGaps(QueueName.Cluster, { [JobName.ClusterFace]: handler, [JobName.ApplyConstraints]: handler }),
    ).toEqual({ missing: [], foreign: [] });
  });

  it('refuses to start a worker that would leave a job unhandled, before touching Redis', async () => {
    await expect(startQueueWorker(QueueName.Cluster, { [JobName.ClusterFace]: handler }, options)).rejects.toThrow(
      /queue cluster: no handler for apply-constraints/,
    );
  });
});

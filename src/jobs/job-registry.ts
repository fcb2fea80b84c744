/**
 * Every background job simsift runs: its queue, its name, its payload and its options. Producers and workers
 * share this registry so a job id or payload shape cannot drift between them.
 */
export const QueueName = {
  /** One job per KYC record: decode the photo, find the face, embed it. */
  Faces: 'faces',
  /** One job per stored face: assign it to a face cluster (single consumer). */
  Cluster: 'cluster',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  EmbedRecord: 'embed-record',
  ClusterFace: 'cluster-face',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Payload of {@link JobName.EmbedRecord}: the record whose photo is to be processed. */
export interface EmbedRecordPayload {
  recordId: number;
}

/** Payload of {@link JobName.ClusterFace}: a face row ready to be clustered. */
export interface ClusterFacePayload {
  faceId: number;
}

export interface JobPayloads {
  [JobName.EmbedRecord]: EmbedRecordPayload;
  [JobName.ClusterFace]: ClusterFacePayload;
}

/** A job as handed to BullMQ's `addBulk`. */
export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  data: JobPayloads[N];
  opts: {
    jobId: string;
    attempts: number;
    backoff: { type: 'exponential'; delay: number };
    removeOnComplete: { age: number; count: number };
    removeOnFail: { age: number };
  };
}

const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 100_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * Deterministic job ids: a retry, a reconciler pass or a second API process queuing the same record finds the
 * existing job instead of adding a duplicate. BullMQ forbids ':' in custom ids.
 */
export function embedRecordJobId(recordId: number): string {
  return `embed-${recordId}`;
}

export function embedRecordJob(recordId: number): JobDefinition<typeof JobName.EmbedRecord> {
  return {
    name: JobName.EmbedRecord,
    data: { recordId },
    // Retries are for transient faults (database or Redis blips); unreadable photos are results, not errors.
    opts: {
      jobId: embedRecordJobId(recordId),
      attempts: 5,
      backoff: { type: 'exponential', delay: 2_000 },
      ...RETENTION,
    },
  };
}

export function clusterFaceJob(faceId: number): JobDefinition<typeof JobName.ClusterFace> {
  return {
    name: JobName.ClusterFace,
    data: { faceId },
    opts: { jobId: `cluster-${faceId}`, attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...RETENTION },
  };
}

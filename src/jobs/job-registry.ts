/**
 * Every background job simsift runs: its queue, its name, its payload and its options. Producers and workers
 * share this registry so a job id or payload shape cannot drift between them.
 */
export const QueueName = {
  /** One job per KYC record: decode the photo, find the face, embed it. */
  Faces: 'faces',
  /** One job per stored face: assign it to a face cluster (single consumer). */
  Cluster: 'cluster',
  /** Pre-activation checks: one photo and record compared with every cluster, answered while the client waits. */
  Checks: 'checks',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  EmbedRecord: 'embed-record',
  ClusterFace: 'cluster-face',
  CheckFace: 'check-face',
  ApplyConstraints: 'apply-constraints',
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

/**
 * Payload of {@link JobName.CheckFace}: the photo travels in the job (base64) because a check stores nothing
 * unless asked; the job is removed once answered. The document arrives hashed, never in plain.
 */
export interface CheckFacePayload {
  photoBase64: string;
  record: CheckedRecord;
}
export interface CheckedRecord {
  msisdn: string;
  name: string;
  /** Optional in payloads queued before the rules read persons. */
  fatherName?: string | null;
  dob: string | null;
  lsa: string;
  posAgentId?: string;
  activationDate?: string;
  idHmacHex: string;
}

/** Payload of {@link JobName.ApplyConstraints}: an analyst split or merged clusters; the reason is for logs. */
export interface ApplyConstraintsPayload {
  reason: string;
}

export interface JobPayloads {
  [JobName.EmbedRecord]: EmbedRecordPayload;
  [JobName.ClusterFace]: ClusterFacePayload;
  [JobName.CheckFace]: CheckFacePayload;
  [JobName.ApplyConstraints]: ApplyConstraintsPayload;
}

/** A job as handed to BullMQ's `addBulk`. */
export interface JobDefinition<N extends JobName = JobName> {
  name: N;
  data: JobPayloads[N];
  opts: {
    jobId: string;
    attempts: number;
    backoff: { type: 'exponential'; delay: number };
    removeOnComplete: { age: number; count: number } | boolean;
    removeOnFail: { age: number } | boolean;
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

/**
 * A stored face recomputed by `simsift reembed` (the descriptor changed): the same job as an upload's, under an
 * id of its own per run, since the upload's id may still be held by Redis and would be silently dropped.
 */
export function reembedRecordJob(recordId: number, runId: string): JobDefinition<typeof JobName.EmbedRecord> {
  const job = embedRecordJob(recordId);
  return { ...job, opts: { ...job.opts, jobId: `reembed-${runId}-${recordId}` } };
}

export function clusterFaceJob(faceId: number): JobDefinition<typeof JobName.ClusterFace> {
  return {
    name: JobName.ClusterFace,
    data: { faceId },
    opts: { jobId: `cluster-${faceId}`, attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...RETENTION },
  };
}

/** A check is asked once and answered once: no retries (the client retries), nothing kept after the answer. */
export function checkFaceJob(payload: CheckFacePayload, id: string): JobDefinition<typeof JobName.CheckFace> {
  return {
    name: JobName.CheckFace,
    data: payload,
    opts: {
      jobId: `check-${id}`,
      attempts: 1,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

/** Wakes the cluster worker to apply new analyst constraints (it applies every new one, whatever the payload). */
export function applyConstraintsJob(reason: string): JobDefinition<typeof JobName.ApplyConstraints> {
  return {
    name: JobName.ApplyConstraints,
    data: { reason },
    opts: {
      jobId: `constraints-${reason}-${Date.now()}`,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1_000 },
      ...RETENTION,
    },
  };
}

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

/** The queue each job runs on: a worker for a queue must handle every job of it (see startQueueWorker). */
export const JOB_QUEUE: { readonly [N in JobName]: QueueName } = {
  [JobName.EmbedRecord]: QueueName.Faces,
  [JobName.ClusterFace]: QueueName.Cluster,
  [JobName.ApplyConstraints]: QueueName.Cluster,
  [JobName.CheckFace]: QueueName.Checks,
};

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

/** A record as the face queue knows it: its id and its queue stamp (migration 0014). */
export interface RecordJobRef {
  id: number;
  /** When the record was (last) queued, in ms since the epoch; 0 for records from before stamps existed. */
  queueStamp: number;
}

/**
 * Job ids are deterministic, so a retry, a reconciler pass or a second API process queuing the same record finds
 * the existing job instead of adding a duplicate; and they carry the queue stamp, so they never repeat after a
 * database restore hands record ids out again (Redis would silently drop the new job). BullMQ forbids ':' in ids.
 */
export function embedRecordJobId(record: RecordJobRef): string {
  return record.queueStamp === 0 ? `embed-${record.id}` : `embed-${record.id}-${record.queueStamp}`;
}

export function embedRecordJob(record: RecordJobRef): JobDefinition<typeof JobName.EmbedRecord> {
  return {
    name: JobName.EmbedRecord,
    data: { recordId: record.id },
    // Retries are for transient faults (database or Redis blips); unreadable photos are results, not errors.
    opts: {
      jobId: embedRecordJobId(record),
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
  const job = embedRecordJob({ id: recordId, queueStamp: 0 });
  return { ...job, opts: { ...job.opts, jobId: `reembed-${runId}-${recordId}` } };
}

/** A job that wakes the cluster worker: retried for about 17 minutes in all (a restarting worker), then kept. */
function wakeUpJob<N extends JobName>(name: N, data: JobPayloads[N], jobId: string): JobDefinition<N> {
  return { name, data, opts: { jobId, attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...RETENTION } };
}

/**
 * The cluster worker clusters every pending face whichever job wakes it, so these ids need not deduplicate; they
 * only must not repeat (face ids do, after a database restore), or Redis would drop the job.
 */
export function clusterFaceJob(faceId: number): JobDefinition<typeof JobName.ClusterFace> {
  return wakeUpJob(JobName.ClusterFace, { faceId }, `cluster-${faceId}-${Date.now()}`);
}

/**
 * Wakes the cluster worker to look for pending faces and analysts' constraints whose jobs were lost (a Redis
 * wipe, a database restore). At most one per `slot` (the cluster worker's sweep period), kept only until done.
 */
export function clusterSweepJob(slot: string): JobDefinition<typeof JobName.ClusterFace> {
  return {
    name: JobName.ClusterFace,
    data: { faceId: 0 },
    opts: {
      jobId: `cluster-sweep-${slot}`,
      attempts: 3,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
    },
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
  return wakeUpJob(JobName.ApplyConstraints, { reason }, `constraints-${reason}-${Date.now()}`);
}

/**
 * Every background job simsift runs: its queue, its name and its payload. Workers and producers share this
 * registry so a job id or payload shape cannot drift between them.
 */
export const QueueName = {
  /** One job per KYC record: decode the photo, find the face, embed it. */
  Faces: 'faces',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  EmbedRecord: 'embed-record',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Payload of {@link JobName.EmbedRecord}: the record whose photo is to be processed. */
export interface EmbedRecordPayload {
  recordId: number;
}

export interface JobPayloads {
  [JobName.EmbedRecord]: EmbedRecordPayload;
}

/**
 * Deterministic job ids: a retry, a reconciler pass or a second API process queuing the same record finds the
 * existing job instead of adding a duplicate. BullMQ forbids ':' in custom ids.
 */
export function embedRecordJobId(recordId: number): string {
  return `embed-${recordId}`;
}

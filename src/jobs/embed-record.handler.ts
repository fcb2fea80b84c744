import type { Job } from 'bullmq';
import type { FaceOutcome, FacePipelineService } from '../services/face-pipeline.service.js';
import type { EmbedRecordPayload } from './job-registry.js';

export interface JobLogger {
  info(details: object, message: string): void;
  debug(details: object, message: string): void;
}

/**
 * Handles {@link JobName.EmbedRecord}. A photo without a usable face is a result (the record gets a reason
 * state); only faults worth retrying (database, Redis, disk) throw, and BullMQ retries them with backoff.
 */
export function embedRecordHandler(service: FacePipelineService, logger: JobLogger) {
  return async (job: Job<EmbedRecordPayload>): Promise<Pick<FaceOutcome, 'state' | 'faceId' | 'timings'>> => {
    const outcome = await service.processRecord(job.data.recordId);
    logger.debug(
      { recordId: outcome.recordId, state: outcome.state, faceId: outcome.faceId, timings: outcome.timings },
      'record processed',
    );
    return { state: outcome.state, faceId: outcome.faceId, timings: outcome.timings };
  };
}

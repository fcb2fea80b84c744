import type { CheckFacePayload, JobName } from './job-registry.js';
import type { JobHandler } from './queue-worker.js';

/** Handles {@link JobName.CheckFace}: one pre-activation check, answered as the job's result; nothing is stored. */
export function checkFaceHandler(
  evaluate: (payload: CheckFacePayload) => Promise<unknown>,
): JobHandler<typeof JobName.CheckFace> {
  return (job) => evaluate(job.data);
}

/** Where a KYC record is in the pipeline. */
export const PENDING_RECORD_STATES = ['waiting', 'queued'] as const;
/** Outcomes of the face pipeline: a usable face, or the reason there is none. */
export const FINAL_RECORD_STATES = [
  'face_ready',
  'no_face',
  'multiple_faces',
  'face_too_small',
  'low_quality',
  'unreadable_image',
] as const;
export const RECORD_STATES = [...PENDING_RECORD_STATES, ...FINAL_RECORD_STATES] as const;
export type RecordState = (typeof RECORD_STATES)[number];

const FINAL = new Set<string>(FINAL_RECORD_STATES);
export const isFinalRecordState = (state: string): boolean => FINAL.has(state);

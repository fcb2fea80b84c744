import type { ErasedRecords, ErasureSubject } from '../repositories/erasure.repository.js';
import type { PhotoMimeType } from '../repositories/photo-store.repository.js';
import { AppError } from './errors.js';
import { hashIdentityDocument } from './ingest.service.js';
import { ID_TYPES, normaliseIdNumber, normaliseMsisdn, type IdType } from './kyc-validators.js';

export interface ErasureStore {
  erase(subject: ErasureSubject, meta: { actor: string; apiKeyId: number | null }): Promise<ErasedRecords>;
  clearedRecords(decidedBefore: Date, limit: number): Promise<number[]>;
  photosPastRetention(storedBefore: Date, limit: number): Promise<{ sha256: Buffer; mimeType: PhotoMimeType }[]>;
  markPhotosPurged(hashes: readonly Buffer[]): Promise<void>;
}
export interface ErasureFiles {
  /** Deletes a photo's file unless a record refers to the photo again (a concurrent upload of the same bytes). */
  removePhoto(sha256: Buffer, mimeType: PhotoMimeType): Promise<void>;
  /** Deletes a purged photo's file unless an upload met or stored it since `since` (ms since the epoch). */
  removePurgedPhoto(sha256: Buffer, mimeType: PhotoMimeType, since: number): Promise<void>;
  /** Deletes a file under the data dir (a thumbnail); a missing file is not an error. */
  removeDerived(relative: string): Promise<void>;
}
export interface ErasureQueue {
  /** Wakes the cluster worker, which then reloads its index and judges the clusters that lost a face. */
  sweepClusters(): Promise<void>;
}

export interface ErasureRequest {
  msisdn?: string;
  idType?: string;
  idNumber?: string;
}

export interface ErasureOutcome {
  records: number;
  faces: number;
  clusters: number;
  candidates: number;
  photos: number;
}

/**
 * Erasure of a subscriber's personal data on request (DPDP Act 2023): every KYC record with the number or the
 * identity document, the faces and block candidates made from them, their photos and thumbnails once nothing
 * refers to them, and their place in the face index. Asked by number or by document (hashed, as stored).
 */
export class ErasureService {
  constructor(
    private readonly deps: {
      store: ErasureStore;
      files: ErasureFiles;
      queue: ErasureQueue;
      secret: Buffer;
      /** Cleared subscribers' records are erased this many days after the last decision; never when unset. */
      clearedRetentionDays?: number;
      /** Original photos are deleted this many days after upload (faces and thumbnails stay); never when unset. */
      photoRetentionDays?: number;
      now?: () => Date;
    },
  ) {}

  async erase(request: ErasureRequest, meta: { actor: string; apiKeyId: number | null }): Promise<ErasureOutcome> {
    return this.eraseSubject(this.subjectOf(request), meta);
  }

  /**
   * Retention: erases the records of subscribers whom analysts cleared (every candidate of theirs dismissed)
   * longer than `clearedRetentionDays` ago, `batchSize` at a time until none is left. A cleared subscriber is
   * then no longer kept, nor matched, beyond the purpose they were checked for.
   */
  async applyRetention(batchSize = 500): Promise<ErasureOutcome> {
    const total: ErasureOutcome = { records: 0, faces: 0, clusters: 0, candidates: 0, photos: 0 };
    const days = this.deps.clearedRetentionDays;
    if (!days) return total;
    const before = this.daysAgo(days);
    for (;;) {
      const recordIds = await this.deps.store.clearedRecords(before, batchSize);
      if (recordIds.length === 0) return total;
      const outcome = await this.eraseSubject(
        { recordIds, reason: 'retention' },
        { actor: 'retention', apiKeyId: null },
      );
      for (const key of Object.keys(total) as (keyof ErasureOutcome)[]) total[key] += outcome[key];
      if (recordIds.length < batchSize) return total;
    }
  }

  /**
   * Photo retention: deletes the original photos stored more than `photoRetentionDays` ago whose records are all
   * processed. The faces, thumbnails and perceptual hashes made from them stay, so matching goes on; the photo
   * itself answers 410 `photo_expired`. Returns how many photos went.
   */
  async applyPhotoRetention(batchSize = 500): Promise<number> {
    const days = this.deps.photoRetentionDays;
    if (!days) return 0;
    const before = this.daysAgo(days);
    let purged = 0;
    for (;;) {
      const photos = await this.deps.store.photosPastRetention(before, batchSize);
      if (photos.length === 0) return purged;
      const markedAt = Date.now();
      await this.deps.store.markPhotosPurged(photos.map((photo) => photo.sha256));
      for (const photo of photos) await this.deps.files.removePurgedPhoto(photo.sha256, photo.mimeType, markedAt);
      purged += photos.length;
      if (photos.length < batchSize) return purged;
    }
  }

  private daysAgo(days: number): Date {
    return new Date((this.deps.now?.() ?? new Date()).getTime() - days * 86_400_000);
  }

  private async eraseSubject(
    subject: ErasureSubject,
    meta: { actor: string; apiKeyId: number | null },
  ): Promise<ErasureOutcome> {
    const erased = await this.deps.store.erase(subject, meta);
    // After the commit: the rows are gone, so no reader is sent to these files any more.
    for (const photo of erased.photos) await this.deps.files.removePhoto(photo.sha256, photo.mimeType);
    for (const thumbnail of erased.thumbnails) await this.deps.files.removeDerived(thumbnail);
    if (erased.clusterIds.length > 0) {
      // The `erased` events already make the next job reload; this only makes it come now. The cluster worker's
      // periodic sweep would otherwise pick it up within SIMSIFT_CLUSTER_SWEEP_MS.
      await this.deps.queue.sweepClusters().catch(() => undefined);
    }
    return {
      records: erased.recordIds.length,
      faces: erased.faceIds.length,
      clusters: erased.clusterIds.length,
      candidates: erased.candidates,
      photos: erased.photos.length,
    };
  }

  private subjectOf(request: ErasureRequest): ErasureSubject {
    const byDocument = request.idType !== undefined || request.idNumber !== undefined;
    if ((request.msisdn !== undefined) === byDocument) {
      throw new AppError(400, 'erasure_subject_invalid', 'name the subscriber by msisdn, or by id_type and id_number');
    }
    if (request.msisdn !== undefined) {
      const msisdn = normaliseMsisdn(request.msisdn);
      if (!msisdn) throw new AppError(400, 'invalid_msisdn', 'the msisdn is not an Indian mobile number');
      return { msisdn };
    }
    if (!(ID_TYPES as readonly string[]).includes(request.idType ?? '') || request.idNumber === undefined) {
      throw new AppError(
        400,
        'erasure_subject_invalid',
        `id_type must be one of ${ID_TYPES.join(', ')}, with id_number`,
      );
    }
    const idType = request.idType as IdType;
    const normalised = normaliseIdNumber(idType, request.idNumber);
    // The message never contains the number (see normaliseIdNumber).
    if (!normalised.ok) throw new AppError(400, 'invalid_id_number', normalised.error.message);
    return { idHmac: hashIdentityDocument(this.deps.secret, idType, normalised.value) };
  }
}

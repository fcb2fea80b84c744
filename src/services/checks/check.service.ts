import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { CheckFacePayload } from '../../jobs/job-registry.js';
import { sniffImageType } from '../../repositories/photo-store.repository.js';
import type { Principal } from '../auth.service.js';
import { AppError } from '../errors.js';
import type { IngestOutcome, IngestRequest } from '../ingest.service.js';
import { hashIdentityDocument } from '../ingest.service.js';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS, validateManifestRow } from '../kyc-validators.js';
import type { CheckResult } from './check-evaluator.service.js';

export interface CheckDispatcher {
  /** Sends the check to a cluster worker and waits for its answer; throws JobTimeoutError when none comes. */
  request(payload: CheckFacePayload, id: string): Promise<CheckResult>;
}
export interface CheckIngest {
  ingest(request: IngestRequest): Promise<IngestOutcome>;
}

export interface CheckRequest {
  /** Record fields named as manifest columns; `activation_date` defaults to today. */
  fields: Record<string, string>;
  photo: Buffer | null;
  store: boolean;
  idempotencyKey: string | null;
}

const EXTENSIONS = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const;

/**
 * Pre-activation checks: a shop sends one subscriber's photo and details before issuing a SIM, and learns
 * within a second which clusters the face matches and which rules would fire. Nothing is stored unless the
 * caller asks (`store`), in which case the record is ingested as a one-record batch like any upload.
 */
export class CheckService {
  constructor(
    private readonly deps: {
      dispatcher: CheckDispatcher;
      ingest: CheckIngest;
      secret: Buffer;
      maxPhotoBytes: number;
      now?: () => Date;
    },
  ) {}

  async check(principal: Principal, request: CheckRequest) {
    const now = this.deps.now?.() ?? new Date();
    if (!request.photo || request.photo.length === 0) {
      throw new AppError(400, 'photo_missing', 'send the subscriber photo as the file part `photo`');
    }
    if (request.photo.length > this.deps.maxPhotoBytes) {
      throw new AppError(413, 'photo_too_large', `the photo is larger than ${this.deps.maxPhotoBytes} bytes`, {
        limit: this.deps.maxPhotoBytes,
      });
    }
    const mimeType = sniffImageType(request.photo.subarray(0, 16));
    if (!mimeType) throw new AppError(415, 'unsupported_image_type', 'the photo must be a JPEG, PNG or WebP image');
    const unknown = Object.keys(request.fields).filter((name) => !CHECK_FIELDS.has(name));
    if (unknown.length > 0) {
      throw new AppError(400, 'unknown_field', `unknown fields: ${unknown.join(', ')}`, { fields: unknown });
    }
    const photoName = `photo.${EXTENSIONS[mimeType]}`;
    const row = { activation_date: now.toISOString().slice(0, 10), ...request.fields, photo: photoName };
    const validated = validateManifestRow(row, now);
    if (!validated.ok) {
      throw new AppError(400, 'invalid_record', 'the record has invalid fields', { errors: validated.errors });
    }
    if (request.store && principal.role !== 'operator') {
      throw new AppError(403, 'store_needs_operator', 'only an operator key can store a checked record');
    }
    const record = validated.value;
    let result: CheckResult;
    try {
      result = await this.deps.dispatcher.request(
        {
          photoBase64: request.photo.toString('base64'),
          record: {
            msisdn: record.msisdn,
            name: record.name,
            fatherName: record.fatherName,
            dob: record.dob,
            lsa: record.lsa,
            posAgentId: record.posAgentId,
            activationDate: record.activationDate,
            idHmacHex: hashIdentityDocument(this.deps.secret, record.idType, record.idNumber).toString('hex'),
          },
        },
        randomUUID(),
      );
    } catch (error) {
      // No worker answered in time, or Redis is unreachable: the client may retry; nothing was stored.
      const timedOut = (error as Error).name === 'JobTimeoutError';
      throw new AppError(
        503,
        'check_unavailable',
        timedOut ? 'no cluster worker answered in time; retry later' : 'the check queue is unreachable; retry later',
        undefined,
        { cause: error },
      );
    }

    let stored: { batch_id: string } | null = null;
    if (request.store) {
      const manifest = stringify([row], { header: true, columns: Object.keys(row) });
      const photo = request.photo;
      async function* parts() {
        yield { kind: 'manifest' as const, content: Buffer.from(manifest) };
        yield { kind: 'photo' as const, name: photoName, stream: Readable.from([photo]) };
      }
      const outcome = await this.deps.ingest.ingest({
        operatorId: principal.operatorId!,
        apiKeyId: principal.keyId,
        actor: `key:${principal.keyId}`,
        idempotencyKey: request.idempotencyKey,
        source: 'multipart',
        parts: parts(),
      });
      stored = { batch_id: outcome.batchId };
    }
    // Another operator's clusters are named by id and verdict only; their members stay behind GET /v1/clusters.
    return { ...result, stored };
  }
}

const CHECK_FIELDS = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].filter((name) => name !== 'photo'));

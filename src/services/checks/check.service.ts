import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { CheckFacePayload } from '../../jobs/job-registry.js';
import type { AuditEntry } from '../../repositories/audit.repository.js';
import { sniffImageType } from '../../repositories/photo-store.repository.js';
import type { Principal } from '../auth.service.js';
import { AppError } from '../errors.js';
import type { IngestOutcome, IngestRequest } from '../ingest.service.js';
import { hashIdentityDocument } from '../ingest.service.js';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS, validateManifestRow } from '../kyc-validators.js';
import type { CheckResult } from './check-evaluator.service.js';
import type { ReasonCode } from '../fraud-rules.js';

export interface CheckDispatcher {
  /** Sends the check to a cluster worker and waits for its answer; throws JobTimeoutError when none comes. */
  request(payload: CheckFacePayload, id: string): Promise<CheckResult>;
}
export interface CheckIngest {
  ingest(request: IngestRequest): Promise<IngestOutcome>;
}
export interface CheckRateCounter {
  /** Counts one check of `subject` (a key id) in its current minute, across API processes. */
  record(subject: string): Promise<{ count: number; resetInMs: number }>;
}
export interface CheckAudit {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * What a shop may do: `refuse` when the identity already holds its cap of connections (SIM_CAP_EXCEEDED, a legal
 * limit), `review` when any other rule fires (one face under other names, a document on other faces, a reused
 * photo, no usable face: a person must look), `allow` when none does.
 */
export type CheckDecision = 'allow' | 'review' | 'refuse';
const REFUSING: ReadonlySet<ReasonCode> = new Set(['SIM_CAP_EXCEEDED']);

export function checkDecision(reasons: readonly ReasonCode[]): CheckDecision {
  if (reasons.some((reason) => REFUSING.has(reason))) return 'refuse';
  return reasons.length > 0 ? 'review' : 'allow';
}

/**
 * The answer to a check. Operator and checker keys get the decision, the reason codes and the counts the rules
 * used (connections and identities across all operators, and the cap): nothing that names another operator's
 * clusters or records. Analysts, who may read every cluster anyway, also get `detail`.
 */
export interface CheckAnswer {
  decision: CheckDecision;
  reasons: ReasonCode[];
  counts: { connections: number; identities: number; simCap: number };
  face: CheckResult['face'];
  stored: { batch_id: string } | null;
  detail?: Pick<CheckResult, 'matches' | 'clusterId' | 'score' | 'evidence' | 'seconds'>;
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
      /** Checks one key may run per minute; unlimited without it. */
      rateLimit?: { perKeyPerMinute: number; counter: CheckRateCounter };
      /** Every check is audited (decision and reasons, never the subscriber's details); none without it. */
      audit?: CheckAudit;
      now?: () => Date;
    },
  ) {}

  async check(principal: Principal, request: CheckRequest): Promise<CheckAnswer> {
    const now = this.deps.now?.() ?? new Date();
    await this.countCheck(principal);
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
    if (request.store && principal.operatorId === null) {
      throw new AppError(403, 'store_needs_operator', 'only an operator or checker key can store a checked record');
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
    const decision = checkDecision(result.reasons);
    await this.deps.audit?.record({
      apiKeyId: principal.keyId,
      actor: `key:${principal.keyId}`,
      action: 'check.run',
      entity: 'check',
      entityId: randomUUID(),
      // Pseudonymous: what was decided and why, never the subscriber's number, name or document.
      details: { decision, reasons: result.reasons, face: result.face.state, stored: stored?.batch_id ?? null },
    });
    const answer: CheckAnswer = {
      decision,
      reasons: result.reasons,
      counts: {
        connections: result.evidence.connections,
        identities: result.evidence.identities,
        simCap: result.evidence.simCap,
      },
      face: result.face,
      stored,
    };
    if (principal.role !== 'analyst') return answer;
    const { matches, clusterId, score, evidence, seconds } = result;
    return { ...answer, detail: { matches, clusterId, score, evidence, seconds } };
  }

  /** 429 `too_many_checks` once the key ran its checks for this minute. */
  private async countCheck(principal: Principal): Promise<void> {
    const limit = this.deps.rateLimit;
    if (!limit) return;
    let counted: { count: number; resetInMs: number };
    try {
      counted = await limit.counter.record(String(principal.keyId));
    } catch (error) {
      // The check itself needs Redis (its queue): without it, no check can run.
      throw new AppError(503, 'check_unavailable', 'the check queue is unreachable; retry later', undefined, {
        cause: error,
      });
    }
    if (counted.count > limit.perKeyPerMinute) {
      throw new AppError(429, 'too_many_checks', `this key may run ${limit.perKeyPerMinute} checks a minute`, {
        limit: limit.perKeyPerMinute,
        retry_after_seconds: Math.max(1, Math.ceil(counted.resetInMs / 1000)),
      });
    }
  }
}

const CHECK_FIELDS = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS].filter((name) => name !== 'photo'));

import type { Readable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import type { AuditHead, ExportCandidate, ExportRecord, ExportRequest } from '../repositories/export.repository.js';
import type { Principal } from './auth.service.js';
import { AppError, notFound } from './errors.js';

/** One export's steps inside its transaction (ExportRepository's ExportTransaction). */
export interface ExportSteps {
  candidates(request: ExportRequest): Promise<ExportCandidate[]>;
  auditHead(): Promise<AuditHead>;
  record(
    request: ExportRequest,
    candidateIds: readonly number[],
    content: { csv: string; json: string },
    meta: { actor: string; apiKeyId: number | null },
  ): Promise<ExportRecord>;
}

export interface ExportStore {
  inExportTransaction<T>(operatorId: number, work: (tx: ExportSteps) => Promise<T>): Promise<T>;
  list(operatorId: number | null, limit: number): Promise<ExportRecord[]>;
  openFile(id: number, format: 'csv' | 'json', operatorId: number | null): Promise<{ stream: Readable | null } | null>;
  recordReverifications(
    operatorId: number,
    items: readonly { msisdn: string; outcome: string }[],
    meta: { actor: string; apiKeyId: number | null },
  ): Promise<{ updated: number; unknown: string[] }>;
}
export interface OperatorLookup {
  findOperator(code: string): Promise<{ id: number; code: string } | null>;
}

/**
 * Re-verification deadlines after a connection is flagged: outgoing calls barred at 30 days, incoming at 45,
 * disconnection at 60; a case from law enforcement or a bank moves faster (5, 10, 15 days).
 */
export const REVERIFICATION_DAYS = {
  analysis: { outgoing: 30, incoming: 45, disconnect: 60 },
  law_enforcement: { outgoing: 5, incoming: 10, disconnect: 15 },
  bank: { outgoing: 5, incoming: 10, disconnect: 15 },
} as const;

const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString().slice(0, 10);

/** One row per number, the same in CSV and JSON. */
export function blockListRows(candidates: readonly ExportCandidate[], exportedAt: string) {
  return candidates.map((c) => {
    const from = c.decidedAt ?? exportedAt;
    const days = REVERIFICATION_DAYS[c.source as keyof typeof REVERIFICATION_DAYS] ?? REVERIFICATION_DAYS.analysis;
    return {
      msisdn: c.msisdn,
      operator: c.operator,
      lsa: c.lsa,
      reasons: c.reasons.join('|'),
      cluster_id: c.clusterId,
      status: c.status === 'confirmed' ? 'exported' : c.status,
      source: c.source,
      decided_at: c.decidedAt,
      decided_by: c.decidedBy,
      outgoing_barred_by: addDays(from, days.outgoing),
      incoming_barred_by: addDays(from, days.incoming),
      disconnect_by: addDays(from, days.disconnect),
    };
  });
}

const COLUMNS = [
  'msisdn',
  'operator',
  'lsa',
  'reasons',
  'cluster_id',
  'status',
  'source',
  'decided_at',
  'decided_by',
  'outgoing_barred_by',
  'incoming_barred_by',
  'disconnect_by',
];

/**
 * A cell a spreadsheet would run as a formula (`=`, `@`, tab or carriage return first, or `+` or `-` before
 * anything but a number: an uploaded LSA or a reviewer's name could) gets a leading quote, so opening an export in
 * Excel never executes what a subscriber or an operator wrote. A phone number like +919100000002 stays as it is.
 */
export function neutraliseFormula(value: string): string {
  if (/^[=@\t\r]/.test(value) || (/^[+-]/.test(value) && !/^[+-]?\d[\d ]*$/.test(value))) return `'${value}`;
  return value;
}

/** The CSV of a block list, with formula cells neutralised (see neutraliseFormula). */
export function blockListCsv(rows: ReturnType<typeof blockListRows>): string {
  return stringify(rows, { header: true, columns: COLUMNS, cast: { string: neutraliseFormula } });
}

/**
 * Per-operator block lists for enforcement. Incremental by default: an export holds the numbers not exported
 * before for that operator; `full` lists them all again. Each file's sha256 and row count are recorded, and an
 * operator key sees and downloads only its own operator's exports.
 */
export class ExportService {
  constructor(private readonly deps: { exports: ExportStore; operators: OperatorLookup; now?: () => Date }) {}

  async create(
    principal: Principal,
    request: { operator: string; status?: 'confirmed' | 'dismissed'; since?: string; full?: boolean },
  ) {
    const operator = await this.deps.operators.findOperator(request.operator);
    if (!operator) throw new AppError(404, 'operator_not_found', `no operator with code ${request.operator}`);
    const exportedAt = (this.deps.now?.() ?? new Date()).toISOString();
    const exportRequest: ExportRequest = {
      operatorId: operator.id,
      statuses: [request.status ?? 'confirmed'],
      since: request.since ?? null,
      full: request.full ?? false,
    };
    return this.deps.exports.inExportTransaction(operator.id, async (tx) => {
      const candidates = await tx.candidates(exportRequest);
      const auditHead = await tx.auditHead();
      const rows = blockListRows(candidates, exportedAt);
      const json = { operator: operator.code, exported_at: exportedAt, audit_head: auditHead, rows };
      return tx.record(
        exportRequest,
        candidates.map((candidate) => candidate.candidateId),
        { csv: blockListCsv(rows), json: `${JSON.stringify(json, null, 2)}\n` },
        { actor: `key:${principal.keyId}`, apiKeyId: principal.keyId },
      );
    });
  }

  async list(principal: Principal, limit: number) {
    return { items: await this.deps.exports.list(scope(principal), limit) };
  }

  /** The bytes of an export file the caller may download. */
  async download(principal: Principal, id: number, format: 'csv' | 'json'): Promise<Readable> {
    const file = await this.deps.exports.openFile(id, format, scope(principal));
    if (!file) throw notFound('export');
    if (!file.stream) throw notFound('export file');
    return file.stream;
  }

  async recordReverifications(principal: Principal, items: readonly { msisdn: string; outcome: string }[]) {
    return this.deps.exports.recordReverifications(principal.operatorId!, items, {
      actor: `key:${principal.keyId}`,
      apiKeyId: principal.keyId,
    });
  }
}

const scope = (principal: Principal) => (principal.role === 'operator' ? principal.operatorId : null);

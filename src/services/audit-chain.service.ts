import { auditChainHash, GENESIS_HASH, type AuditChainContent } from '../audit-chain-hash.js';

export interface AuditChainRow extends AuditChainContent {
  hash: Buffer;
}

export interface AuditChainHead {
  seq: number;
  hash: Buffer;
}

/** A consistent snapshot of the chain, read a page at a time so verification never holds it all in memory. */
export interface AuditChainSnapshot {
  head: AuditChainHead;
  /** Rows with seq > afterSeq in seq order, at most `limit`. */
  page(afterSeq: number, limit: number): Promise<AuditChainRow[]>;
}

export interface AuditChainReader {
  withSnapshot<T>(work: (snapshot: AuditChainSnapshot) => Promise<T>): Promise<T>;
}

/**
 * - `edited`: the row's content no longer matches its hash.
 * - `missing`: rows with these seqs are gone (deleted from the middle or the start).
 * - `relinked`: the row does not point at the hash of the row before it (that row was rewritten and rehashed,
 *   or rows were renumbered).
 * - `truncated`: rows at the end are gone (the head records a later seq than the last row).
 * - `head_mismatch`: the last row and the head disagree in some other way.
 */
export type AuditChainIssueKind = 'edited' | 'missing' | 'relinked' | 'truncated' | 'head_mismatch';

export interface AuditChainIssue {
  kind: AuditChainIssueKind;
  /** The first seq concerned. */
  seq: number;
  message: string;
}

export interface AuditVerification {
  ok: boolean;
  /** Rows read. */
  checked: number;
  head: { seq: number; hash: string };
  lastSeq: number;
  /** In seq order; the first is the first broken row. Capped at `maxIssues`. */
  issues: AuditChainIssue[];
}

export interface VerifyOptions {
  pageSize?: number;
  maxIssues?: number;
}

/**
 * Checks the audit trail end to end: recomputes every row's hash, follows prev_hash links and seq order, and
 * compares the last row with the recorded head. Detects any edited or deleted row, including at the end. It
 * cannot detect someone who rewrites a row and recomputes every later hash and the head: that needs the head
 * anchored outside the database.
 */
export class AuditChainService {
  constructor(private readonly chain: AuditChainReader) {}

  async verify(options: VerifyOptions = {}): Promise<AuditVerification> {
    const pageSize = options.pageSize ?? 1000;
    const maxIssues = options.maxIssues ?? 100;
    return this.chain.withSnapshot(async (snapshot) => {
      const issues: AuditChainIssue[] = [];
      const report = (issue: AuditChainIssue) => {
        if (issues.length < maxIssues) issues.push(issue);
      };
      let checked = 0;
      let last: { seq: number; hash: Buffer } = { seq: 0, hash: GENESIS_HASH };
      for (;;) {
        const rows = await snapshot.page(last.seq, pageSize);
        for (const row of rows) {
          checked += 1;
          const expectedSeq = last.seq + 1;
          if (row.seq !== expectedSeq) {
            const gap = row.seq - expectedSeq;
            report({
              kind: 'missing',
              seq: expectedSeq,
              message:
                gap === 1
                  ? `row seq ${expectedSeq} is missing (deleted)`
                  : `rows seq ${expectedSeq}..${row.seq - 1} are missing (deleted)`,
            });
          } else if (!row.prevHash.equals(last.hash)) {
            report({
              kind: 'relinked',
              seq: row.seq,
              message: `row seq ${row.seq} does not link to row seq ${last.seq} (prev_hash mismatch: one of them was rewritten)`,
            });
          }
          if (!auditChainHash(row).equals(row.hash)) {
            report({ kind: 'edited', seq: row.seq, message: `row seq ${row.seq} was edited (hash mismatch)` });
          }
          // Carry on from the stored hash so one break does not mask later ones.
          last = { seq: row.seq, hash: row.hash };
        }
        if (rows.length < pageSize) break;
      }
      const { head } = snapshot;
      if (last.seq < head.seq) {
        report({
          kind: 'truncated',
          seq: last.seq + 1,
          message:
            head.seq - last.seq === 1
              ? `row seq ${head.seq} at the end is missing (deleted)`
              : `rows seq ${last.seq + 1}..${head.seq} at the end are missing (deleted)`,
        });
      } else if (last.seq > head.seq) {
        report({
          kind: 'head_mismatch',
          seq: head.seq + 1,
          message: `rows after seq ${head.seq} were added outside the chain (the head is at seq ${head.seq})`,
        });
      } else if (!last.hash.equals(head.hash)) {
        report({
          kind: 'head_mismatch',
          seq: head.seq,
          message: `row seq ${head.seq} does not match the recorded head hash (rewritten)`,
        });
      }
      return {
        ok: issues.length === 0,
        checked,
        head: { seq: head.seq, hash: head.hash.toString('hex') },
        lastSeq: last.seq,
        issues,
      };
    });
  }
}

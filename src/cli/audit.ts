import type { AuditVerification } from '../services/audit-chain.service.js';

/** Human-readable result of `simsift audit verify`. */
export function formatAuditVerification(result: AuditVerification): string {
  const lines = [
    result.ok
      ? `audit trail intact: ${result.checked} rows, head seq ${result.head.seq} (${result.head.hash})`
      : `audit trail TAMPERED: ${result.issues.length} problem(s) in ${result.checked} rows, head seq ${result.head.seq}`,
  ];
  for (const issue of result.issues) lines.push(`  seq ${issue.seq}\t${issue.kind}\t${issue.message}`);
  return lines.join('\n');
}

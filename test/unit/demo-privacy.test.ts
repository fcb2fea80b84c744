import { describe, expect, it } from 'vitest';
import { findDocuments, maskDocument } from '../../src/demo/demo-privacy.js';

const AADHAAR = '234123412346';
const PAN = 'AFZPK7190K';

describe('findDocuments', () => {
  it('finds a document number in text, glued to other characters, in any case, and in binary bytes', () => {
    const binary = Buffer.concat([Buffer.from([0xff, 0xd8, 0x00]), Buffer.from(`x${AADHAAR}y`), Buffer.from([0x89])]);
    const sweep = findDocuments(
      [
        { where: 'table kyc_records', content: `(1,"Ravi Kumar",${AADHAAR.slice(0, 8)}XXXX)` },
        { where: 'logs', content: `{"msg":"row","id":"pan${PAN.toLowerCase()}"}` },
        { where: 'file photos/a', content: binary },
      ],
      [AADHAAR, PAN],
    );
    expect(sweep.documents).toBe(2);
    expect(sweep.leaks).toEqual([
      { where: 'logs', document: 'XXXXXX190K' },
      { where: 'file photos/a', document: 'XXXXXXXX2346' },
    ]);
    expect(sweep.scanned.map((source) => source.where)).toEqual(['table kyc_records', 'logs', 'file photos/a']);
  });

  it('reports nothing where only masked forms and HMACs are stored', () => {
    const sweep = findDocuments(
      [{ where: 'table kyc_records', content: `(1,XXXXXXXX2346,\\x9f3a${'0'.repeat(60)})` }],
      [AADHAAR, PAN],
    );
    expect(sweep.leaks).toEqual([]);
  });

  it('masks all but the last four characters', () => {
    expect(maskDocument(AADHAAR)).toBe('XXXXXXXX2346');
  });
});

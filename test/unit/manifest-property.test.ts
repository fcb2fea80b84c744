/**
 * Property tests: random manifests and rows thrown at the parser and the row validator. They must never throw
 * anything but a documented AppError, every error code must be a known one, and accepted rows come out
 * normalised.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANIFEST_HEADER, sampleAadhaar } from '../../src/demo/sample-batch.js';
import { AppError } from '../../src/services/errors.js';
import {
  FIELD_ERROR_CODES,
  GENDERS,
  ID_TYPES,
  LSA_CODES,
  validateManifestRow,
} from '../../src/services/kyc-validators.js';
import { parseManifest } from '../../src/services/manifest.js';

const MANIFEST_CODES = new Set([
  'manifest_not_csv',
  'manifest_empty',
  'manifest_missing_columns',
  'manifest_unknown_columns',
  'manifest_duplicate_columns',
  'manifest_wrong_delimiter',
  'too_many_rows',
]);
const TODAY = new Date('2026-06-01T00:00:00Z');

/** Text that stresses CSV: quotes, separators, line breaks, BOMs, control and non-Latin characters. */
const nastyText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('"', '""', ',', ';', '\n', '\r\n', '\uFEFF', '\u0000', '<b>x</b>', "'; DROP TABLE x;--", ' '),
);

/** Mostly a valid value, sometimes a hostile one: accepted rows are exercised as much as rejected ones. */
const usually = (valid: fc.Arbitrary<string>) =>
  fc.oneof({ arbitrary: valid, weight: 12 }, { arbitrary: nastyText, weight: 1 });

const columnValue: Record<string, fc.Arbitrary<string>> = {
  msisdn: usually(
    fc.oneof(
      fc.integer({ min: 6_000_000_000, max: 9_999_999_999 }).map((n) => `+91 ${n}`),
      fc.integer({ min: 0, max: 9_999_999_999 }).map(String),
    ),
  ),
  name: usually(fc.constantFrom('Asha Verma', '  Ravi   Kumar ', 'रवि कुमार', "Mary D'Souza", '<i>x</i>')),
  father_name: usually(fc.constantFrom('', 'Suresh Kumar')),
  dob: usually(fc.constantFrom('1990-04-12', '12/04/1990', '31-02-1990', '', '2020-01-01')),
  gender: usually(fc.constantFrom('M', 'f', 'female', 'x', '')),
  id_type: usually(fc.constantFrom('aadhaar', 'aadhaar', 'aadhaar', 'AADHAAR', 'pan', 'ration')),
  id_number: usually(
    fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 100_000 }).map(sampleAadhaar), weight: 6 },
      { arbitrary: fc.constantFrom('ABCPK1234F', 'A1234567', '2341 2341 2346', '234123412345'), weight: 1 },
    ),
  ),
  address: usually(fc.constantFrom('12 MG Road\nDelhi', '', '  Flat 3,  Sector 4 ')),
  lsa: usually(fc.constantFrom(...LSA_CODES, 'dl', 'XX')),
  pos_agent_id: usually(fc.constantFrom('POS-0001', 'a/b.c_d', 'POS 1')),
  activation_date: usually(fc.constantFrom('2025-03-01', '01-03-2025', '2099-01-01', '1900-01-01')),
  photo: usually(fc.constantFrom('a.jpg', 'photos/a.jpg', '../a.jpg', '/etc/passwd', 'C:\\a.jpg')),
};

const row = fc.record(
  Object.fromEntries(
    MANIFEST_HEADER.map((column) => [column, fc.option(columnValue[column]!, { nil: undefined, freq: 20 })]),
  ),
);

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const manifest = fc.oneof(
  // Well-formed CSV with a random set of (possibly unknown or repeated) columns and random cells.
  fc
    .tuple(
      fc.array(fc.oneof(fc.constantFrom(...MANIFEST_HEADER), fc.string({ maxLength: 8 })), { maxLength: 14 }),
      fc.array(fc.array(nastyText, { maxLength: 14 }), { maxLength: 6 }),
      fc.constantFrom(',', ';', '\t'),
    )
    .map(([header, rows, separator]) =>
      Buffer.from([header, ...rows].map((cells) => cells.map(csvCell).join(separator)).join('\n')),
    ),
  // Arbitrary bytes, often not UTF-8 or not CSV at all.
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  // The full header and random rows: mostly reaches row validation.
  fc
    .array(row, { minLength: 1, maxLength: 4 })
    .map((rows) =>
      Buffer.from(
        [MANIFEST_HEADER.join(','), ...rows.map((r) => MANIFEST_HEADER.map((c) => csvCell(r[c] ?? '')).join(','))].join(
          '\r\n',
        ),
      ),
    ),
);

describe('parseManifest (property)', () => {
  it('returns rows or throws an AppError with a known manifest code, never anything else', () => {
    fc.assert(
      fc.property(manifest, fc.integer({ min: 1, max: 5 }), (content, maxRows) => {
        try {
          const parsed = parseManifest(content, maxRows);
          expect(parsed.rows.length + parsed.malformedRows.length).toBeLessThanOrEqual(maxRows);
          for (const { rowNumber } of parsed.rows) expect(rowNumber).toBeGreaterThanOrEqual(1);
        } catch (error) {
          expect(error).toBeInstanceOf(AppError);
          expect(MANIFEST_CODES).toContain((error as AppError).code);
          expect([400, 413]).toContain((error as AppError).statusCode);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('validateManifestRow (property)', () => {
  it('never throws, reports only known codes without echoing values, and normalises accepted rows', () => {
    let accepted = 0;
    fc.assert(
      fc.property(row, (values) => {
        const result = validateManifestRow(values, TODAY);
        if (!result.ok) {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const error of result.errors) {
            expect(FIELD_ERROR_CODES).toContain(error.code);
            const idNumber = values.id_number?.trim() ?? '';
            if (idNumber.length >= 6) expect(error.message).not.toContain(idNumber);
          }
          return;
        }
        accepted++;
        const v = result.value;
        expect(v.msisdn).toMatch(/^\+91[6-9]\d{9}$/);
        for (const text of [v.name, v.fatherName, v.address, v.posAgentId, v.photo]) {
          if (text === null) continue;
          expect(text).toBe(text.trim());
          expect(text).not.toMatch(/\s{2}|[\t\r\n]/);
        }
        expect(ID_TYPES).toContain(v.idType);
        expect(LSA_CODES).toContain(v.lsa);
        if (v.gender !== null) expect(GENDERS).toContain(v.gender);
        for (const date of [v.dob, v.activationDate]) {
          if (date !== null) expect(date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        }
        expect(v.activationDate <= '2026-06-01').toBe(true);
        expect(v.idMasked).toHaveLength(v.idNumber.length);
        expect(v.idMasked.slice(-4)).toBe(v.idNumber.slice(-4));
        expect(v.idMasked.slice(0, -4)).toMatch(/^X*$/);
      }),
      { numRuns: 2_000 },
    );
    // The generators are meant to reach the accepting path too, not only rejections.
    expect(accepted).toBeGreaterThan(0);
  });
});

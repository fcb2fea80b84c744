import { describe, it, expect } from 'vitest';
import { MANIFEST_HEADER, manifestCsv, sampleRow } from '../../src/demo/sample-batch.js';
import { AppError } from '../../src/services/errors.js';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS } from '../../src/services/kyc-validators.js';
import { parseManifest } from '../../src/services/manifest.js';

const HEADER = MANIFEST_HEADER.join(',');
const PNG_HEADER = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48]);

function csv(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

/** One data line in header order, values left unquoted (so tests can see exactly what is parsed). */
function line(values: Partial<Record<(typeof MANIFEST_HEADER)[number], string>>): string {
  return MANIFEST_HEADER.map((column) => values[column] ?? '').join(',');
}

function appErrorFrom(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('parseManifest: header', () => {
  it('parses sample rows keyed by column, numbering data rows from 1', () => {
    const rows = [sampleRow(1, 'a.jpg'), sampleRow(2, 'b.jpg')];
    const parsed = parseManifest(csv(manifestCsv(rows)), 10);
    expect(parsed.malformedRows).toEqual([]);
    expect(parsed.rows.map((row) => row.rowNumber)).toEqual([1, 2]);
    expect(parsed.rows[0]!.values).toEqual({ ...rows[0] });
    expect(parsed.rows[1]!.values).toEqual({ ...rows[1] });
  });

  it('matches header names case- and whitespace-insensitively', () => {
    const header = MANIFEST_HEADER.map((column, i) => (i % 2 === 0 ? ` ${column.toUpperCase()} ` : `\t${column}`));
    const parsed = parseManifest(csv(`${header.join(',')}\n${line({ msisdn: '9876543210', name: 'Asha' })}\n`), 10);
    expect(Object.keys(parsed.rows[0]!.values).sort()).toEqual([...MANIFEST_HEADER].sort());
    expect(parsed.rows[0]!.values.msisdn).toBe('9876543210');
    expect(parsed.rows[0]!.values.name).toBe('Asha');
  });

  it('accepts the required columns alone, in any order', () => {
    const header = [...REQUIRED_COLUMNS].reverse();
    const parsed = parseManifest(csv(`${header.join(',')}\n${header.map((c) => `v-${c}`).join(',')}\n`), 10);
    expect(parsed.rows[0]!.values).toEqual(Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, `v-${c}`])));
  });

  it('strips a UTF-8 byte order mark from the first column name', () => {
    const content = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), csv(manifestCsv([sampleRow(1, 'a.jpg')]))]);
    const parsed = parseManifest(content, 10);
    expect(parsed.rows[0]!.values.msisdn).toBe(sampleRow(1, 'a.jpg').msisdn);
    expect(Object.keys(parsed.rows[0]!.values)).not.toContain('\ufeffmsisdn');
  });

  it('rejects missing required columns with 400 manifest_missing_columns listing them', () => {
    const header = MANIFEST_HEADER.filter((column) => column !== 'lsa' && column !== 'photo');
    const error = appErrorFrom(() =>
      parseManifest(csv(`${header.join(',')}\n${header.map(() => 'x').join(',')}\n`), 10),
    );
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_missing_columns');
    expect(error.details).toEqual({
      missing: ['lsa', 'photo'],
      required: [...REQUIRED_COLUMNS],
      optional: [...OPTIONAL_COLUMNS],
    });
  });

  it('rejects an unknown column with manifest_unknown_columns', () => {
    const error = appErrorFrom(() => parseManifest(csv(`${HEADER},Remarks\n${line({})},x\n`), 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_unknown_columns');
    expect(error.details?.unknown).toEqual(['remarks']);
  });

  it('rejects a column that appears twice (even in another case) with manifest_duplicate_columns', () => {
    const error = appErrorFrom(() => parseManifest(csv(`${HEADER},Name\n${line({})},x\n`), 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_duplicate_columns');
    expect(error.details).toEqual({ duplicated: ['name'] });
  });
});

describe('parseManifest: not a CSV', () => {
  it('rejects a PNG with manifest_not_csv', () => {
    const error = appErrorFrom(() => parseManifest(PNG_HEADER, 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_not_csv');
  });

  it('rejects Latin-1 (non-UTF-8) text with manifest_not_csv', () => {
    const latin1 = Buffer.from(`${HEADER}\n${line({ name: 'José' })}\n`, 'latin1');
    expect(appErrorFrom(() => parseManifest(latin1, 10)).code).toBe('manifest_not_csv');
  });

  it('rejects valid UTF-8 that contains NUL bytes with manifest_not_csv', () => {
    const content = Buffer.concat([csv(`${HEADER}\n`), Buffer.from([0x61, 0x00, 0x62]), csv('\n')]);
    const error = appErrorFrom(() => parseManifest(content, 10));
    expect(error.code).toBe('manifest_not_csv');
    expect(error.message).toMatch(/binary/);
  });

  it('rejects an unclosed quote with manifest_not_csv', () => {
    const error = appErrorFrom(() => parseManifest(csv(`${HEADER}\n"+919876543210,Asha\n`), 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_not_csv');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('accepts non-ASCII UTF-8 names', () => {
    const parsed = parseManifest(csv(`${HEADER}\n${line({ name: 'Lakshmi Iyer लक्ष्मी' })}\n`), 10);
    expect(parsed.rows[0]!.values.name).toBe('Lakshmi Iyer लक्ष्मी');
  });
});

describe('parseManifest: size', () => {
  it('rejects a header with no data rows with manifest_empty', () => {
    const error = appErrorFrom(() => parseManifest(csv(`${HEADER}\n`), 10));
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('manifest_empty');
  });

  it('rejects an empty file with manifest_empty', () => {
    expect(appErrorFrom(() => parseManifest(Buffer.alloc(0), 10)).code).toBe('manifest_empty');
  });

  it('rejects more than maxRows data rows with 413 too_many_rows', () => {
    const rows = [1, 2, 3].map((n) => sampleRow(n, `${n}.jpg`));
    const error = appErrorFrom(() => parseManifest(csv(manifestCsv(rows)), 2));
    expect(error.statusCode).toBe(413);
    expect(error.code).toBe('too_many_rows');
    expect(error.details).toEqual({ limit: 2 });
  });

  it('accepts exactly maxRows data rows', () => {
    const rows = [1, 2, 3].map((n) => sampleRow(n, `${n}.jpg`));
    expect(parseManifest(csv(manifestCsv(rows)), 3).rows).toHaveLength(3);
  });
});

describe('parseManifest: rows', () => {
  it('lists rows with the wrong number of fields by data-row number and parses the others', () => {
    const text = [
      HEADER,
      line({ name: 'One' }),
      'too,few',
      line({ name: 'Three' }),
      `${line({ name: 'Four' })},extra`,
      line({ name: 'Five' }),
    ].join('\n');
    const parsed = parseManifest(csv(text), 10);
    expect(parsed.malformedRows).toEqual([2, 4]);
    expect(parsed.rows.map((row) => [row.rowNumber, row.values.name])).toEqual([
      [1, 'One'],
      [3, 'Three'],
      [5, 'Five'],
    ]);
  });

  it('parses quoted fields containing commas, quotes and newlines', () => {
    const row = sampleRow(1, 'a.jpg');
    row.address = '12, "Shanti Niwas"\nMG Road, Pune';
    row.name = 'Iyer, Lakshmi';
    const parsed = parseManifest(csv(manifestCsv([row, sampleRow(2, 'b.jpg')])), 10);
    expect(parsed.malformedRows).toEqual([]);
    expect(parsed.rows).toHaveLength(2);
    expect(parsed.rows[0]!.values.address).toBe('12, "Shanti Niwas"\nMG Road, Pune');
    expect(parsed.rows[0]!.values.name).toBe('Iyer, Lakshmi');
    expect(parsed.rows[1]!.rowNumber).toBe(2);
  });

  it('handles CRLF line endings and skips blank lines', () => {
    const text = `${HEADER}\r\n${line({ name: 'One' })}\r\n\r\n${line({ name: 'Two' })}\r\n`;
    const parsed = parseManifest(csv(text), 10);
    expect(parsed.rows.map((row) => [row.rowNumber, row.values.name, row.values.photo])).toEqual([
      [1, 'One', ''],
      [2, 'Two', ''],
    ]);
  });

  it('keeps field values untrimmed (row validation trims them)', () => {
    const parsed = parseManifest(csv(`${HEADER}\n${line({ name: '  Asha  ' })}\n`), 10);
    expect(parsed.rows[0]!.values.name).toBe('  Asha  ');
  });
});

import { parse } from 'csv-parse/sync';
import { OPTIONAL_COLUMNS, REQUIRED_COLUMNS, type ManifestRow } from './kyc-validators.js';
import { AppError } from './errors.js';

export interface ParsedManifest {
  rows: { rowNumber: number; values: ManifestRow }[];
  /** Rows whose column count differs from the header's; reported as row errors, not parsed. */
  malformedRows: number[];
}

const KNOWN_COLUMNS = new Set<string>([...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS]);
/** Sent with a column error, so the client can show what a manifest may have. */
const COLUMN_HELP = { required: [...REQUIRED_COLUMNS], optional: [...OPTIONAL_COLUMNS] };

/**
 * Parses a KYC manifest. Problems with the file as a whole (not text, not CSV, missing or unknown columns,
 * too many rows) reject the whole batch; problems with one row are left to row validation.
 * Row numbers count data rows from 1 (the header is not a row).
 */
export function parseManifest(content: Buffer, maxRows: number): ParsedManifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    throw new AppError(400, 'manifest_not_csv', 'the manifest is not UTF-8 text');
  }
  if (text.includes('\u0000')) throw new AppError(400, 'manifest_not_csv', 'the manifest contains binary data');
  let records: string[][];
  try {
    // Stops one row past the limit: a manifest of millions of rows is refused without parsing all of it.
    records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: false,
      to: maxRows + 2,
    });
  } catch (error) {
    throw new AppError(
      400,
      'manifest_not_csv',
      `the manifest is not valid CSV: ${(error as Error).message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const [header, ...data] = records;
  if (!header) throw new AppError(400, 'manifest_empty', 'the manifest has no header row');
  const columns = header.map((column) => column.trim().toLowerCase());
  // Spreadsheets in many locales export ';' or tab separated files: say so rather than list every column missing.
  const separator = columns.length === 1 ? /[;\t|]/.exec(columns[0]!)?.[0] : undefined;
  if (separator !== undefined && REQUIRED_COLUMNS.some((column) => columns[0]!.includes(column))) {
    throw new AppError(
      400,
      'manifest_wrong_delimiter',
      `the manifest header is separated by ${separator === '\t' ? 'tabs' : `"${separator}"`}; use commas`,
      { delimiter: separator },
    );
  }
  const missing = REQUIRED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) {
    throw new AppError(400, 'manifest_missing_columns', `the manifest lacks required columns: ${missing.join(', ')}`, {
      missing,
      ...COLUMN_HELP,
    });
  }
  const unknown = columns.filter((column) => !KNOWN_COLUMNS.has(column));
  if (unknown.length > 0) {
    throw new AppError(400, 'manifest_unknown_columns', `the manifest has unknown columns: ${unknown.join(', ')}`, {
      unknown,
      ...COLUMN_HELP,
    });
  }
  const duplicated = columns.filter((column, index) => columns.indexOf(column) !== index);
  if (duplicated.length > 0) {
    throw new AppError(400, 'manifest_duplicate_columns', `columns appear twice: ${duplicated.join(', ')}`, {
      duplicated,
    });
  }
  if (data.length === 0) throw new AppError(400, 'manifest_empty', 'the manifest has no data rows');
  if (data.length > maxRows) {
    throw new AppError(413, 'too_many_rows', `the manifest has more than ${maxRows} rows, the limit`, {
      limit: maxRows,
    });
  }
  const rows: ParsedManifest['rows'] = [];
  const malformedRows: number[] = [];
  data.forEach((fields, index) => {
    const rowNumber = index + 1;
    if (fields.length !== columns.length) {
      malformedRows.push(rowNumber);
      return;
    }
    const values: ManifestRow = {};
    columns.forEach((column, i) => (values[column] = fields[i]));
    rows.push({ rowNumber, values });
  });
  return { rows, malformedRows };
}

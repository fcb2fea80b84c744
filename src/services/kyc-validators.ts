/**
 * Validation and normalisation rules for Indian telecom KYC manifest rows. Over 400 lines on purpose: one
 * validator per field and document type (Verhoeff for Aadhaar, PAN, passport, voter id, licence, LSA, dates),
 * kept in one place so every entry point applies the same rules.
 *
 * Everything here is pure so the same rules can run in the HTTP ingest path, the CLI and the workers
 * without drifting apart. Error messages deliberately never echo the offending value: manifest fields are
 * personal data (and identity document numbers especially must not reach logs or API responses).
 */

/** Licensed Service Area codes used by Indian telecom operators. */
export const LSA_CODES = [
  'AP',
  'AS',
  'BR',
  'DL',
  'GJ',
  'HP',
  'HR',
  'JK',
  'KA',
  'KL',
  'KO',
  'MH',
  'MP',
  'MU',
  'NE',
  'OR',
  'PB',
  'RJ',
  'TN',
  'UE',
  'UW',
  'WB',
] as const;

/** A Licensed Service Area code from {@link LSA_CODES}. */
export type LsaCode = (typeof LSA_CODES)[number];

/** Proof-of-identity document types accepted in a manifest's `id_type` column. */
export const ID_TYPES = ['aadhaar', 'pan', 'passport', 'voter_id', 'driving_licence', 'other'] as const;

/** An identity document type from {@link ID_TYPES}. */
export type IdType = (typeof ID_TYPES)[number];

/** Normalised gender codes: male, female, transgender, other. */
export const GENDERS = ['M', 'F', 'T', 'O'] as const;

/** A normalised gender code from {@link GENDERS}. */
export type Gender = (typeof GENDERS)[number];

/** Stable, machine-readable validation error codes; clients branch on these, so never rename one. */
export const FIELD_ERROR_CODES = [
  'required',
  'invalid_msisdn',
  'invalid_aadhaar',
  'invalid_aadhaar_checksum',
  'invalid_pan',
  'invalid_passport',
  'invalid_voter_id',
  'invalid_driving_licence',
  'invalid_id_number',
  'invalid_id_type',
  'invalid_date',
  'date_in_future',
  'date_too_early',
  'invalid_gender',
  'unknown_lsa',
  'too_long',
  'invalid_characters',
  'underage',
] as const;

/** A validation error code from {@link FIELD_ERROR_CODES}. */
export type FieldErrorCode = (typeof FIELD_ERROR_CODES)[number];

/**
 * One problem with one manifest field.
 *
 * `message` is English prose for humans and never contains the submitted value, so a `FieldError` is safe to
 * log and to return to API clients.
 */
export interface FieldError {
  /** Manifest column name, e.g. `id_number`. */
  field: string;
  code: FieldErrorCode;
  message: string;
}

/** A raw manifest CSV row keyed by header name; columns absent from the file are `undefined`. */
export interface ManifestRow {
  [column: string]: string | undefined;
}

/** Columns every manifest must provide a non-empty value for. */
export const REQUIRED_COLUMNS = [
  'msisdn',
  'name',
  'id_type',
  'id_number',
  'lsa',
  'pos_agent_id',
  'activation_date',
  'photo',
] as const;

/** Columns a manifest may provide; empty values become `null`. */
export const OPTIONAL_COLUMNS = ['father_name', 'dob', 'gender', 'address'] as const;

/** A manifest row that passed every rule, with all values normalised. */
export interface ValidKycRow {
  /** E.164 form, `+91` followed by 10 digits. */
  msisdn: string;
  name: string;
  fatherName: string | null;
  /** ISO `YYYY-MM-DD`. */
  dob: string | null;
  gender: Gender | null;
  idType: IdType;
  /** Normalised plain document number: the caller must hash it and then drop it, never persist or log it. */
  idNumber: string;
  /** {@link maskIdNumber} of `idNumber`, safe to display. */
  idMasked: string;
  address: string | null;
  lsa: LsaCode;
  posAgentId: string;
  /** ISO `YYYY-MM-DD`. */
  activationDate: string;
  /** Photo path relative to the upload root, as written in the manifest. */
  photo: string;
}

// ---------------------------------------------------------------------------------------------------------
// Verhoeff
// ---------------------------------------------------------------------------------------------------------

/**
 * Multiplication table of the dihedral group D5: digits 0-4 are rotations, 5-9 reflections. Computed from the
 * group's rule rather than written out, so no cell can be mistyped.
 */
const VERHOEFF_D: readonly (readonly number[])[] = Array.from({ length: 10 }, (_, j) =>
  Array.from({ length: 10 }, (_, k) => {
    if (j < 5) return k < 5 ? (j + k) % 5 : 5 + ((j + k) % 5);
    return k < 5 ? 5 + ((j - k + 5) % 5) : (j - k + 5) % 5;
  }),
);

/**
 * Position-dependent permutations: row i applies (0 1 5 8 9 4 2 7)(3 6) i times (hence the period of 8); this is
 * what makes adjacent transpositions detectable.
 */
const VERHOEFF_P1 = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4] as const;
const VERHOEFF_P: readonly (readonly number[])[] = Array.from({ length: 8 }, (_, i) =>
  Array.from({ length: 10 }, (_, digit) => {
    let permuted = digit;
    for (let step = 0; step < i; step++) permuted = VERHOEFF_P1[permuted]!;
    return permuted;
  }),
);

const VERHOEFF_INV: readonly number[] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

const ASCII_DIGITS = /^[0-9]+$/;

function tableCell(table: readonly (readonly number[])[], row: number, column: number): number {
  const value = table[row]?.[column];
  // Unreachable for digit input; throwing beats silently computing a wrong checksum.
  if (value === undefined) throw new Error('Verhoeff table index out of range');
  return value;
}

/** Folds the digits right to left; `positionOffset` is 1 when the check digit is not yet appended. */
function verhoeffFold(digits: string, positionOffset: number): number {
  let check = 0;
  for (let i = 0; i < digits.length; i++) {
    const digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    check = tableCell(VERHOEFF_D, check, tableCell(VERHOEFF_P, (i + positionOffset) % 8, digit));
  }
  return check;
}

/**
 * Computes the Verhoeff check digit to append to `digits` (as used by Aadhaar's last digit).
 *
 * @param digits - a non-empty string of ASCII digits, without the check digit
 * @returns the single check digit as a string
 * @throws RangeError if `digits` is empty or contains anything but ASCII digits
 */
export function verhoeffCheckDigit(digits: string): string {
  // The message must not include the input: callers pass identity numbers.
  if (!ASCII_DIGITS.test(digits)) throw new RangeError('verhoeffCheckDigit expects a non-empty string of digits');
  const inverse = VERHOEFF_INV[verhoeffFold(digits, 1)];
  if (inverse === undefined) throw new Error('Verhoeff table index out of range');
  return String(inverse);
}

/**
 * Checks a digit string whose last digit is a Verhoeff check digit.
 *
 * @returns `false` for empty or non-digit input rather than throwing, so it can gate untrusted data directly
 */
export function isVerhoeffValid(digits: string): boolean {
  return ASCII_DIGITS.test(digits) && verhoeffFold(digits, 0) === 0;
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------

// ASCII-only case mapping: String#toUpperCase maps e.g. U+017F (long s) to 'S' and U+0131 (dotless i) to
// 'I', which would let look-alike characters pass the ASCII format checks below.
function asciiUpper(value: string): string {
  return value.replace(/[a-z]/g, (c) => c.toUpperCase());
}

function asciiLower(value: string): string {
  return value.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function isOneOf<T extends string>(allowed: readonly T[], value: string): value is T {
  return (allowed as readonly string[]).includes(value);
}

// Lengths are limits on what a person typed, so count code points rather than UTF-16 units.
function codePointLength(value: string): number {
  return [...value].length;
}

// ---------------------------------------------------------------------------------------------------------
// MSISDN
// ---------------------------------------------------------------------------------------------------------

const MSISDN_SEPARATORS = /[\s\-.()]/g;

// Lengths differ between forms, so at most one can match and a bare 10-digit number starting 91 stays intact.
const MSISDN_FORMS: readonly RegExp[] = [
  /^\+91([0-9]{10})$/,
  /^0091([0-9]{10})$/,
  /^91([0-9]{10})$/,
  /^0([0-9]{10})$/,
  /^([0-9]{10})$/,
];

// Indian mobile numbers start 6-9; lower leading digits are landlines or unallocated.
const INDIAN_MOBILE_NSN = /^[6-9][0-9]{9}$/;

/**
 * Normalises an Indian mobile number to `+91XXXXXXXXXX`.
 *
 * Spaces, hyphens, dots and parentheses are ignored; accepted forms are `+91…`, `0091…`, `91…` (12 digits),
 * `0…` (11 digits) and a bare 10-digit number whose first digit is 6-9.
 *
 * @returns the E.164 number, or `null` for landlines, foreign numbers, wrong lengths or any other characters
 */
export function normaliseMsisdn(raw: string): string | null {
  const compact = raw.replace(MSISDN_SEPARATORS, '');
  for (const form of MSISDN_FORMS) {
    const national = form.exec(compact)?.[1];
    if (national !== undefined) return INDIAN_MOBILE_NSN.test(national) ? `+91${national}` : null;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Identity document numbers
// ---------------------------------------------------------------------------------------------------------

interface IdFormat {
  pattern: RegExp;
  code: FieldErrorCode;
  message: string;
}

// Messages describe the format in words rather than with a sample number, so a sample can never be confused
// with (or coincide with) a real subscriber's number in logs.
const ID_FORMATS: Readonly<Record<IdType, IdFormat>> = {
  aadhaar: {
    pattern: /^[2-9][0-9]{11}$/,
    code: 'invalid_aadhaar',
    message: 'Aadhaar number must be 12 digits and cannot start with 0 or 1.',
  },
  pan: {
    pattern: /^[A-Z]{5}[0-9]{4}[A-Z]$/,
    code: 'invalid_pan',
    message: 'PAN must be 10 characters: 5 letters, then 4 digits, then 1 letter.',
  },
  passport: {
    pattern: /^[A-Z][0-9]{7}$/,
    code: 'invalid_passport',
    message: 'Indian passport number must be 1 letter followed by 7 digits.',
  },
  voter_id: {
    pattern: /^[A-Z]{3}[0-9]{7}$/,
    code: 'invalid_voter_id',
    message: 'Voter ID (EPIC) number must be 3 letters followed by 7 digits.',
  },
  driving_licence: {
    pattern: /^[A-Z]{2}[0-9]{2}[0-9A-Z]{5,14}$/,
    code: 'invalid_driving_licence',
    message:
      'Driving licence number must be a 2-letter state code, a 2-digit RTO code, then 5 to 14 letters or digits.',
  },
  other: {
    pattern: /^[A-Z0-9]{4,40}$/,
    code: 'invalid_id_number',
    message: 'ID number must be 4 to 40 letters or digits.',
  },
};

const ID_NUMBER_FIELD = 'id_number';

/**
 * Normalises and validates an identity document number for the given document type.
 *
 * Trims, removes whitespace and hyphens (and `/` for driving licences, which RTOs print with slashes) and
 * upper-cases ASCII letters, then applies the type's format; Aadhaar numbers must also pass the Verhoeff
 * checksum. An empty value yields a `required` error.
 *
 * @returns the normalised number, or a `FieldError` for field `id_number` whose message never contains the
 *   number or any part of it
 */
export function normaliseIdNumber(
  idType: IdType,
  raw: string,
): { ok: true; value: string } | { ok: false; error: FieldError } {
  const separators = idType === 'driving_licence' ? /[\s\-/]/g : /[\s-]/g;
  const value = asciiUpper(raw.trim().replace(separators, ''));
  if (value === '') {
    return { ok: false, error: { field: ID_NUMBER_FIELD, code: 'required', message: 'ID number is required.' } };
  }
  const format = ID_FORMATS[idType];
  if (!format.pattern.test(value)) {
    return { ok: false, error: { field: ID_NUMBER_FIELD, code: format.code, message: format.message } };
  }
  if (idType === 'aadhaar' && !isVerhoeffValid(value)) {
    return {
      ok: false,
      error: {
        field: ID_NUMBER_FIELD,
        code: 'invalid_aadhaar_checksum',
        message: 'Aadhaar number fails its checksum; check for a mistyped or swapped digit.',
      },
    };
  }
  return { ok: true, value };
}

/**
 * Masks a normalised identity number for display, leaving only the last 4 characters visible
 * (`234123412346` → `XXXXXXXX2346`).
 *
 * @returns a string of the same length; values of 4 characters or fewer are masked entirely because their
 *   last 4 characters would be the whole number
 */
export function maskIdNumber(normalised: string): string {
  const chars = [...normalised];
  if (chars.length <= 4) return 'X'.repeat(chars.length);
  return 'X'.repeat(chars.length - 4) + chars.slice(-4).join('');
}

// ---------------------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------------------

const ISO_DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
// The back-reference rejects mixed separators such as 15-08/1947.
const DAY_FIRST_DATE = /^([0-9]{2})([-/])([0-9]{2})\2([0-9]{4})$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Parses a manifest date in `YYYY-MM-DD`, `DD-MM-YYYY` or `DD/MM/YYYY` form (day-first, as written in India).
 *
 * Calendar arithmetic is done by hand rather than with `Date`, which silently rolls 2023-02-30 over into
 * March and maps years below 100 onto the 1900s.
 *
 * @returns the ISO `YYYY-MM-DD` date, or `null` if the text is in another format or is not a real date
 */
export function parseDate(raw: string): string | null {
  const text = raw.trim();
  let year: string;
  let month: string;
  let day: string;
  const iso = ISO_DATE.exec(text);
  const dayFirst = iso ? null : DAY_FIRST_DATE.exec(text);
  if (iso?.[1] !== undefined && iso[2] !== undefined && iso[3] !== undefined) {
    [year, month, day] = [iso[1], iso[2], iso[3]];
  } else if (dayFirst?.[1] !== undefined && dayFirst[3] !== undefined && dayFirst[4] !== undefined) {
    [day, month, year] = [dayFirst[1], dayFirst[3], dayFirst[4]];
  } else {
    return null;
  }
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return `${year}-${month}-${day}`;
}

function utcDateIso(today: Date): string {
  if (Number.isNaN(today.getTime())) throw new RangeError('today must be a valid Date');
  return today.toISOString().slice(0, 10);
}

/** Whole-year age on `onIso`; a 29 February birthday counts as reached on 1 March in common years. */
function ageOn(dobIso: string, onIso: string): number {
  const years = Number(onIso.slice(0, 4)) - Number(dobIso.slice(0, 4));
  return onIso.slice(5) >= dobIso.slice(5) ? years : years - 1;
}

// ---------------------------------------------------------------------------------------------------------
// Manifest rows
// ---------------------------------------------------------------------------------------------------------

const MAX_NAME_LENGTH = 200;
const MAX_ADDRESS_LENGTH = 500;
const MAX_POS_AGENT_ID_LENGTH = 64;
const MAX_PHOTO_LENGTH = 255;
// Indian rules forbid issuing SIMs to minors.
const MIN_SUBSCRIBER_AGE = 18;
const EARLIEST_DOB = '1900-01-01';
// Mobile service in India began in 1995, so earlier activations are data errors.
const EARLIEST_ACTIVATION = '1995-01-01';

const CONTROL_CHARACTER = /\p{Cc}/u;
const LETTER = /\p{L}/u;
const POS_AGENT_ID_CHARACTERS = /^[A-Za-z0-9._/-]+$/;
const DATE_FORMATS = 'YYYY-MM-DD, DD-MM-YYYY or DD/MM/YYYY';

const GENDER_ALIASES: ReadonlyMap<string, Gender> = new Map([
  ['m', 'M'],
  ['male', 'M'],
  ['f', 'F'],
  ['female', 'F'],
  ['t', 'T'],
  ['transgender', 'T'],
  ['o', 'O'],
  ['other', 'O'],
]);

/**
 * Normalises a gender value case-insensitively: `m`/`male`, `f`/`female`, `t`/`transgender`, `o`/`other`.
 *
 * @returns the code from {@link GENDERS}, or `null` if unrecognised
 */
export function normaliseGender(raw: string): Gender | null {
  return GENDER_ALIASES.get(asciiLower(raw.trim())) ?? null;
}

type Report = (code: FieldErrorCode, message: string) => void;

function readColumn(row: ManifestRow, column: string): string | null {
  const value: unknown = row[column];
  // CSV parsers can hand over non-strings (e.g. arrays for duplicate headers); treat those as missing
  // rather than crash on .trim().
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

// Tabs and line breaks inside a name are rejected, not collapsed: they indicate a broken CSV export.
function checkPersonName(value: string, label: string, report: Report): string | null {
  let valid = true;
  if (CONTROL_CHARACTER.test(value) || !LETTER.test(value)) {
    report('invalid_characters', `${label} must contain at least one letter and no control characters.`);
    valid = false;
  }
  const collapsed = value.replace(/\s+/g, ' ');
  if (codePointLength(collapsed) > MAX_NAME_LENGTH) {
    report('too_long', `${label} must be at most ${MAX_NAME_LENGTH} characters.`);
    valid = false;
  }
  return valid ? collapsed : null;
}

function checkDate(value: string, label: string, earliest: string, todayIso: string, report: Report): string | null {
  const iso = parseDate(value);
  if (iso === null) {
    report('invalid_date', `${label} must be a real calendar date in ${DATE_FORMATS} format.`);
    return null;
  }
  if (iso > todayIso) {
    report('date_in_future', `${label} cannot be in the future.`);
    return null;
  }
  if (iso < earliest) {
    report('date_too_early', `${label} cannot be before ${earliest}.`);
    return null;
  }
  return iso;
}

// Multi-line addresses are legitimate, so line breaks are collapsed here instead of rejected.
function checkAddress(value: string, report: Report): string | null {
  let valid = true;
  const collapsed = value.replace(/\s+/g, ' ');
  if (CONTROL_CHARACTER.test(collapsed)) {
    report('invalid_characters', 'Address must not contain control characters.');
    valid = false;
  }
  if (codePointLength(collapsed) > MAX_ADDRESS_LENGTH) {
    report('too_long', `Address must be at most ${MAX_ADDRESS_LENGTH} characters.`);
    valid = false;
  }
  return valid ? collapsed : null;
}

function checkPosAgentId(value: string, report: Report): string | null {
  let valid = true;
  if (value.length > MAX_POS_AGENT_ID_LENGTH) {
    report('too_long', `POS agent ID must be at most ${MAX_POS_AGENT_ID_LENGTH} characters.`);
    valid = false;
  }
  if (!POS_AGENT_ID_CHARACTERS.test(value)) {
    report('invalid_characters', 'POS agent ID may only contain letters, digits, dot, underscore, slash and hyphen.');
    valid = false;
  }
  return valid ? value : null;
}

// The photo path is later resolved against the upload root, so anything that could escape it is refused here.
function checkPhoto(value: string, report: Report): string | null {
  let valid = true;
  if (codePointLength(value) > MAX_PHOTO_LENGTH) {
    report('too_long', `Photo path must be at most ${MAX_PHOTO_LENGTH} characters.`);
    valid = false;
  }
  const isAbsolute = /^[\\/]/.test(value) || /^[A-Za-z]:/.test(value);
  const climbsOut = value.split(/[\\/]/).includes('..');
  if (isAbsolute || climbsOut || CONTROL_CHARACTER.test(value)) {
    report(
      'invalid_characters',
      'Photo path must be relative, must not contain ".." segments and must not contain control characters.',
    );
    valid = false;
  }
  return valid ? value : null;
}

/**
 * Validates and normalises one raw manifest row.
 *
 * Every value is trimmed and an empty value counts as missing. All fields are checked so that one response
 * lists every problem in the row. Dates are compared as ISO strings against the UTC calendar date of
 * `today`, which keeps results independent of the server's time zone.
 *
 * @param row - the raw CSV row keyed by header; unknown columns are ignored
 * @param today - the reference instant for "not in the future" checks
 * @returns the normalised row, or every {@link FieldError} found; error messages never contain field values
 * @throws RangeError if `today` is an invalid Date
 */
export function validateManifestRow(
  row: ManifestRow,
  today: Date,
): { ok: true; value: ValidKycRow } | { ok: false; errors: FieldError[] } {
  const todayIso = utcDateIso(today);
  const errors: FieldError[] = [];
  const reporterFor =
    (field: string): Report =>
    (code, message) => {
      errors.push({ field, code, message });
    };

  // Invariant relied on below: a required field only comes back null after an error has been reported.
  function required<T>(column: string, label: string, check: (value: string, report: Report) => T | null): T | null {
    const report = reporterFor(column);
    const value = readColumn(row, column);
    if (value === null) {
      report('required', `${label} is required.`);
      return null;
    }
    return check(value, report);
  }

  function optional<T>(column: string, check: (value: string, report: Report) => T | null): T | null {
    const value = readColumn(row, column);
    return value === null ? null : check(value, reporterFor(column));
  }

  const msisdn = required('msisdn', 'Mobile number', (value, report) => {
    const normalised = normaliseMsisdn(value);
    if (normalised === null) {
      report('invalid_msisdn', 'Mobile number must be a 10-digit Indian mobile number starting with 6-9.');
    }
    return normalised;
  });

  const name = required('name', 'Name', (value, report) => checkPersonName(value, 'Name', report));
  const fatherName = optional('father_name', (value, report) => checkPersonName(value, "Father's name", report));

  const dob = optional('dob', (value, report) => checkDate(value, 'Date of birth', EARLIEST_DOB, todayIso, report));

  const gender = optional('gender', (value, report) => {
    const normalised = normaliseGender(value);
    if (normalised === null)
      report('invalid_gender', 'Gender must be M, F, T or O (male, female, transgender or other).');
    return normalised;
  });

  const idType = required('id_type', 'ID type', (value, report) => {
    const lowered = asciiLower(value);
    if (isOneOf(ID_TYPES, lowered)) return lowered;
    report('invalid_id_type', `ID type must be one of: ${ID_TYPES.join(', ')}.`);
    return null;
  });

  const idNumber = required('id_number', 'ID number', (value) => {
    // Without a known document type there is no format to check against; invalid_id_type already covers it.
    if (idType === null) return null;
    const result = normaliseIdNumber(idType, value);
    if (result.ok) return result.value;
    errors.push(result.error);
    return null;
  });

  const address = optional('address', checkAddress);

  const lsa = required('lsa', 'LSA', (value, report) => {
    const upper = asciiUpper(value);
    if (isOneOf(LSA_CODES, upper)) return upper;
    report('unknown_lsa', 'LSA must be a known licensed service area code.');
    return null;
  });

  const posAgentId = required('pos_agent_id', 'POS agent ID', checkPosAgentId);

  const activationDate = required('activation_date', 'Activation date', (value, report) =>
    checkDate(value, 'Activation date', EARLIEST_ACTIVATION, todayIso, report),
  );

  const photo = required('photo', 'Photo', checkPhoto);

  if (dob !== null && activationDate !== null && ageOn(dob, activationDate) < MIN_SUBSCRIBER_AGE) {
    reporterFor('dob')(
      'underage',
      `Subscriber must be at least ${MIN_SUBSCRIBER_AGE} years old on the activation date.`,
    );
  }

  if (
    errors.length > 0 ||
    msisdn === null ||
    name === null ||
    idType === null ||
    idNumber === null ||
    lsa === null ||
    posAgentId === null ||
    activationDate === null ||
    photo === null
  ) {
    return { ok: false, errors };
  }

  return {
    ok: true,
    value: {
      msisdn,
      name,
      fatherName,
      dob,
      gender,
      idType,
      idNumber,
      idMasked: maskIdNumber(idNumber),
      address,
      lsa,
      posAgentId,
      activationDate,
      photo,
    },
  };
}

/**
 * Number shapes that identify a person directly: Aadhaar (12 digits, grouped or not), an Indian mobile number,
 * PAN, passport and voter id (EPIC) numbers, and any run of 9 or more digits. Free text kept in the append-only
 * audit log (analysts' notes) must hold none: the log can never be erased.
 */
const IDENTIFIER_PATTERNS = [
  /\b\d{4}[\s-]?\d{4}[\s-]?\d{4}\b/,
  /(?:\+|\b)(?:91[\s-]?)?[6-9]\d{9}\b/,
  /\b[A-Z]{5}\d{4}[A-Z]\b/i,
  /\b[A-Z]\d{7}\b/i,
  /\b[A-Z]{3}\d{7}\b/i,
  /\d{9,}/,
];

export function containsIdentifier(text: string): boolean {
  return IDENTIFIER_PATTERNS.some((pattern) => pattern.test(text));
}

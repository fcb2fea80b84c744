import { readFile } from 'node:fs/promises';
import { describe, it, expect } from 'vitest';
import {
  containsIdentifier,
  FIELD_ERROR_CODES,
  GENDERS,
  ID_TYPES,
  LSA_CODES,
  OPTIONAL_COLUMNS,
  REQUIRED_COLUMNS,
  isVerhoeffValid,
  maskIdNumber,
  normaliseGender,
  normaliseIdNumber,
  normaliseMsisdn,
  parseDate,
  validateManifestRow,
  verhoeffCheckDigit,
} from '../../src/services/kyc-validators.js';
import type { FieldError, IdType, ManifestRow } from '../../src/services/kyc-validators.js';

/** Row errors the ingest adds about the row as a whole or its photo, not the field validators. */
const MANIFEST_ROW_CODES = new Set([
  'wrong_column_count',
  'duplicate_msisdn',
  'photo_missing',
  'photo_ambiguous',
  'photo_empty',
  'photo_too_large',
  'photo_too_many_pixels',
  'unsupported_image_type',
  'unreadable_image',
]);

/** The codes in the "Row errors" table of docs/error-codes.md, in order. */
async function documentedRowErrorCodes(): Promise<string[]> {
  const doc = await readFile(new URL('../../docs/error-codes.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Row errors'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| ---')));
  return [...table.matchAll(/^\| `([a-z_]+)` /gm)].map((match) => match[1]!);
}

const VALID_AADHAAR = '234123412346';

// Deterministic stand-in for random numbers so failures are reproducible.
function* pseudoRandomDigits(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    yield state % 10;
  }
}

function validTwelveDigitNumbers(count: number): string[] {
  const rng = pseudoRandomDigits(42);
  const numbers: string[] = [];
  while (numbers.length < count) {
    let prefix = '';
    for (let i = 0; i < 11; i++) prefix += String(rng.next().value);
    numbers.push(prefix + verhoeffCheckDigit(prefix));
  }
  return numbers;
}

function substitutions(value: string): string[] {
  const variants: string[] = [];
  for (let i = 0; i < value.length; i++) {
    for (let digit = 0; digit <= 9; digit++) {
      if (String(digit) !== value[i]) variants.push(value.slice(0, i) + String(digit) + value.slice(i + 1));
    }
  }
  return variants;
}

function adjacentTranspositions(value: string): string[] {
  const variants: string[] = [];
  for (let i = 0; i + 1 < value.length; i++) {
    const a = value.charAt(i);
    const b = value.charAt(i + 1);
    if (a !== b) variants.push(value.slice(0, i) + b + a + value.slice(i + 2));
  }
  return variants;
}

function errorPairs(errors: FieldError[]): string[] {
  return errors.map((e) => `${e.field}:${e.code}`).sort();
}

function validRow(overrides: ManifestRow = {}): ManifestRow {
  return {
    msisdn: '9876543210',
    name: 'Ravi Kumar',
    id_type: 'aadhaar',
    id_number: VALID_AADHAAR,
    lsa: 'KA',
    pos_agent_id: 'POS-0042',
    activation_date: '2024-06-01',
    photo: 'photos/ravi.jpg',
    ...overrides,
  };
}

const TODAY = new Date('2024-06-15T10:00:00Z');

function expectErrors(row: ManifestRow, expected: string[], today: Date = TODAY): FieldError[] {
  const result = validateManifestRow(row, today);
  if (result.ok) throw new Error(`expected errors ${expected.join(', ')} but the row was valid`);
  expect(errorPairs(result.errors)).toEqual([...expected].sort());
  return result.errors;
}

function expectValid(row: ManifestRow, today: Date = TODAY) {
  const result = validateManifestRow(row, today);
  if (!result.ok) throw new Error(`expected a valid row, got ${errorPairs(result.errors).join(', ')}`);
  return result.value;
}

describe('constants', () => {
  it('documents every field error code for clients, each once', async () => {
    // Clients branch on these codes, so the published table is the contract: a code renamed or dropped in the
    // code and not in docs/error-codes.md (or the other way round) fails here.
    const documented = await documentedRowErrorCodes();
    expect(documented).toEqual(expect.arrayContaining([...FIELD_ERROR_CODES]));
    expect(FIELD_ERROR_CODES).toEqual(
      expect.arrayContaining(documented.filter((code) => !MANIFEST_ROW_CODES.has(code))),
    );
    expect(new Set(FIELD_ERROR_CODES).size).toBe(FIELD_ERROR_CODES.length);
  });

  it('lists 22 distinct LSAs, the ID types and the genders', () => {
    expect(new Set(LSA_CODES).size).toBe(22);
    expect(ID_TYPES).toEqual(['aadhaar', 'pan', 'passport', 'voter_id', 'driving_licence', 'other']);
    expect(GENDERS).toEqual(['M', 'F', 'T', 'O']);
  });

  it('takes the manifest columns the README documents, the optional ones as optional', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const documentedHeader = /```csv\n([^\n]+)\n/.exec(readme)![1]!.split(',');
    const documentedOptional = [.../^- (.+) are optional\.$/m.exec(readme)![1]!.matchAll(/`([a-z_]+)`/g)].map(
      (match) => match[1],
    );
    expect(documentedOptional).toEqual([...OPTIONAL_COLUMNS]);
    expect(documentedHeader.filter((column) => !documentedOptional.includes(column))).toEqual(
      expect.arrayContaining([...REQUIRED_COLUMNS]),
    );
    expect(documentedHeader).toHaveLength(REQUIRED_COLUMNS.length + OPTIONAL_COLUMNS.length);
  });
});

describe('Verhoeff', () => {
  it.each([
    ['236', '3'],
    ['12345', '1'],
    ['75872', '2'],
    ['123456789012', '0'],
    ['23412341234', '6'],
  ])('check digit of %s is %s (textbook values)', (digits, expected) => {
    expect(verhoeffCheckDigit(digits)).toBe(expected);
  });

  it('accepts known valid numbers and rejects altered ones', () => {
    expect(isVerhoeffValid('2363')).toBe(true);
    expect(isVerhoeffValid('2364')).toBe(false);
    expect(isVerhoeffValid('123451')).toBe(true);
    expect(isVerhoeffValid('123459')).toBe(false);
    expect(isVerhoeffValid('758722')).toBe(true);
    expect(isVerhoeffValid(VALID_AADHAAR)).toBe(true);
    expect(isVerhoeffValid('234123412345')).toBe(false);
  });

  it('makes every computed number valid and every other final digit invalid', () => {
    for (const number of validTwelveDigitNumbers(50)) {
      expect(isVerhoeffValid(number)).toBe(true);
      const prefix = number.slice(0, -1);
      const wrongFinals = [...'0123456789'].filter((d) => d !== number.slice(-1));
      expect(wrongFinals.filter((d) => isVerhoeffValid(prefix + d))).toEqual([]);
    }
  });

  it('detects every single-digit substitution of a valid 12-digit number', () => {
    const variants = substitutions(VALID_AADHAAR);
    expect(variants).toHaveLength(12 * 9);
    expect(variants.filter(isVerhoeffValid)).toEqual([]);
  });

  it('detects every adjacent transposition of a valid 12-digit number', () => {
    const variants = adjacentTranspositions(VALID_AADHAAR);
    expect(variants.length).toBeGreaterThan(0);
    expect(variants.filter(isVerhoeffValid)).toEqual([]);
  });

  it('detects every substitution and adjacent transposition across many valid numbers', () => {
    const undetected: string[] = [];
    for (const number of validTwelveDigitNumbers(200)) {
      for (const variant of [...substitutions(number), ...adjacentTranspositions(number)]) {
        if (isVerhoeffValid(variant)) undetected.push(`${number}->${variant}`);
      }
    }
    expect(undetected).toEqual([]);
  });

  it('rejects non-digit input', () => {
    expect(isVerhoeffValid('')).toBe(false);
    expect(isVerhoeffValid('236a')).toBe(false);
    expect(isVerhoeffValid(' 2363')).toBe(false);
    expect(isVerhoeffValid('２３６３')).toBe(false);
    expect(() => verhoeffCheckDigit('')).toThrow(RangeError);
    expect(() => verhoeffCheckDigit('23-6')).toThrow(RangeError);
  });

  it('does not echo its input when throwing', () => {
    expect(() => verhoeffCheckDigit('98765X43210')).toThrow(/^(?!.*98765).*$/);
  });
});

describe('normaliseMsisdn', () => {
  it.each([
    '+919876543210',
    '+91 98765 43210',
    '+91-98765-43210',
    '+91 (98765) 43210',
    '+91.98765.43210',
    '919876543210',
    '09876543210',
    '0091 9876543210',
    '9876543210',
    ' 98765 43210 ',
  ])('normalises %j to +919876543210', (raw) => {
    expect(normaliseMsisdn(raw)).toBe('+919876543210');
  });

  it.each(['6000000000', '7012345678', '8123456789'])('accepts mobile prefix of %s', (raw) => {
    expect(normaliseMsisdn(raw)).toBe(`+91${raw}`);
  });

  it('keeps a bare 10-digit number that happens to start with 91', () => {
    expect(normaliseMsisdn('9198765432')).toBe('+919198765432');
  });

  it.each([
    '5876543210',
    '+1 9876543210',
    '98765 4321',
    '022-12345678',
    '',
    '98765432101',
    '+9109876543210',
    '+91 5876543210',
    '0 5876543210',
    '98765O4321',
    '+44 7911 123456',
    '++919876543210',
    '91+9876543210',
    '９８７６５４３２１０',
  ])('rejects %j', (raw) => {
    expect(normaliseMsisdn(raw)).toBeNull();
  });
});

describe('normaliseIdNumber', () => {
  const accepted: [IdType, string, string][] = [
    ['aadhaar', VALID_AADHAAR, VALID_AADHAAR],
    ['aadhaar', ' 2341 2341 2346 ', VALID_AADHAAR],
    ['aadhaar', '2341-2341-2346', VALID_AADHAAR],
    ['pan', 'ABCDE1234F', 'ABCDE1234F'],
    ['pan', 'abcde1234f', 'ABCDE1234F'],
    ['pan', ' ABCDE 1234 F ', 'ABCDE1234F'],
    ['passport', 'J8369854', 'J8369854'],
    ['passport', 'j 8369854', 'J8369854'],
    ['voter_id', 'ABC1234567', 'ABC1234567'],
    ['voter_id', 'abc-1234567', 'ABC1234567'],
    ['driving_licence', 'MH-12-2011-0012345', 'MH1220110012345'],
    ['driving_licence', 'DL/04/2011/0149646', 'DL0420110149646'],
    ['driving_licence', 'ka01 12345', 'KA0112345'],
    ['driving_licence', 'TN012020001234ABCD', 'TN012020001234ABCD'],
    ['other', 'ab12', 'AB12'],
    ['other', 'X'.repeat(40), 'X'.repeat(40)],
  ];

  it.each(accepted)('%s %j normalises to %s', (idType, raw, expected) => {
    expect(normaliseIdNumber(idType, raw)).toEqual({ ok: true, value: expected });
  });

  const rejected: [IdType, string, string][] = [
    ['aadhaar', '034123412346', 'invalid_aadhaar'],
    ['aadhaar', '134123412346', 'invalid_aadhaar'],
    ['aadhaar', '23412341234', 'invalid_aadhaar'],
    ['aadhaar', '2341234123461', 'invalid_aadhaar'],
    ['aadhaar', '23412341234A', 'invalid_aadhaar'],
    ['aadhaar', '２３４１２３４１２３４６', 'invalid_aadhaar'],
    ['aadhaar', '2341/2341/2346', 'invalid_aadhaar'],
    ['aadhaar', '234123412345', 'invalid_aadhaar_checksum'],
    ['aadhaar', '234123412364', 'invalid_aadhaar_checksum'],
    ['pan', 'ABCD1234F', 'invalid_pan'],
    ['pan', 'ABCDE12345', 'invalid_pan'],
    ['pan', 'ABCDE1234', 'invalid_pan'],
    ['pan', '1BCDE1234F', 'invalid_pan'],
    ['pan', 'ABCDE1234FG', 'invalid_pan'],
    // U+017F upper-cases to 'S' with String#toUpperCase; it must not sneak through as a PAN letter.
    ['pan', 'abcd\u017f1234f', 'invalid_pan'],
    ['passport', 'J836985', 'invalid_passport'],
    ['passport', 'J83698541', 'invalid_passport'],
    ['passport', '18369854', 'invalid_passport'],
    ['passport', 'JJ369854', 'invalid_passport'],
    ['voter_id', 'AB12345678', 'invalid_voter_id'],
    ['voter_id', 'ABC123456', 'invalid_voter_id'],
    ['voter_id', 'ABCD1234567', 'invalid_voter_id'],
    ['driving_licence', 'MH12 1234', 'invalid_driving_licence'],
    ['driving_licence', 'M112345678', 'invalid_driving_licence'],
    ['driving_licence', 'MHA212345678', 'invalid_driving_licence'],
    ['driving_licence', 'MH12' + '1'.repeat(15), 'invalid_driving_licence'],
    ['driving_licence', 'MH12.2011.0012345', 'invalid_driving_licence'],
    ['other', 'AB1', 'invalid_id_number'],
    ['other', 'AB#12345', 'invalid_id_number'],
    ['other', 'X'.repeat(41), 'invalid_id_number'],
    ['other', 'ÄBC123', 'invalid_id_number'],
  ];

  it.each(rejected)('%s %j is rejected with %s', (idType, raw, code) => {
    const result = normaliseIdNumber(idType, raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.field).toBe('id_number');
      expect(result.error.code).toBe(code);
      expect(result.error.message).not.toBe('');
    }
  });

  it('applies the first-digit rule even when the checksum is valid', () => {
    const prefix = '01234567890';
    const number = prefix + verhoeffCheckDigit(prefix);
    expect(isVerhoeffValid(number)).toBe(true);
    expect(normaliseIdNumber('aadhaar', number)).toMatchObject({ ok: false, error: { code: 'invalid_aadhaar' } });
  });

  it('only strips slashes for driving licences', () => {
    expect(normaliseIdNumber('other', 'AB/1234').ok).toBe(false);
    expect(normaliseIdNumber('driving_licence', 'MH/12/20110012345').ok).toBe(true);
  });

  it('reports an empty value as required', () => {
    expect(normaliseIdNumber('pan', '  - ')).toMatchObject({
      ok: false,
      error: { field: 'id_number', code: 'required' },
    });
  });

  it('never includes the number or any 4-character piece of it in the error message', () => {
    for (const [idType, raw] of rejected) {
      const result = normaliseIdNumber(idType, raw);
      if (result.ok) throw new Error('expected a rejection');
      const normalised = raw.replace(/[\s\-/]/g, '').toUpperCase();
      expect(result.error.message).not.toContain(raw);
      for (let i = 0; i + 4 <= normalised.length; i++) {
        expect(result.error.message.toUpperCase()).not.toContain(normalised.slice(i, i + 4));
      }
    }
  });
});

describe('maskIdNumber', () => {
  it.each([
    ['234123412346', 'XXXXXXXX2346'],
    ['ABCDE1234F', 'XXXXXX234F'],
    ['12345', 'X2345'],
    ['ABCD', 'XXXX'],
    ['AB', 'XX'],
    ['', ''],
  ])('masks %j as %j', (normalised, masked) => {
    expect(maskIdNumber(normalised)).toBe(masked);
  });
});

describe('parseDate', () => {
  it.each([
    ['2024-02-29', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
    ['1995-01-01', '1995-01-01'],
    ['15-08-1947', '1947-08-15'],
    ['15/08/1947', '1947-08-15'],
    ['30/04/2020', '2020-04-30'],
    ['31-12-2023', '2023-12-31'],
    ['01/02/2020', '2020-02-01'],
    [' 2020-01-31 ', '2020-01-31'],
  ])('parses %j as %s', (raw, iso) => {
    expect(parseDate(raw)).toBe(iso);
  });

  it.each([
    '2023-02-29',
    '2023-02-30',
    '1900-02-29',
    '31/04/2020',
    '31-06-2021',
    '2020-13-01',
    '01/13/2020',
    '2020-00-10',
    '00/01/2020',
    '2020-01-32',
    '0000-01-01',
    '2020/01/01',
    '2020-1-1',
    '1/1/2020',
    '15-08/1947',
    '20200101',
    '2020-01-01T00:00:00Z',
    '01.02.2020',
    '',
    'yesterday',
  ])('rejects %j', (raw) => {
    expect(parseDate(raw)).toBeNull();
  });
});

describe('normaliseGender', () => {
  it.each([
    ['m', 'M'],
    ['Male', 'M'],
    ['F', 'F'],
    ['FEMALE', 'F'],
    ['t', 'T'],
    ['Transgender', 'T'],
    ['o', 'O'],
    [' other ', 'O'],
  ])('%j -> %s', (raw, code) => {
    expect(normaliseGender(raw)).toBe(code);
  });

  it.each(['x', 'man', '', 'mal'])('rejects %j', (raw) => {
    expect(normaliseGender(raw)).toBeNull();
  });
});

describe('validateManifestRow', () => {
  it('normalises a fully populated valid row', () => {
    const row: ManifestRow = {
      msisdn: ' +91 98765-43210 ',
      name: '  Ravi   Kumar ',
      father_name: ' Suresh  Kumar',
      dob: '15/08/1990',
      gender: 'male',
      id_type: ' Aadhaar ',
      id_number: '2341 2341 2346',
      address: '12, MG Road,\n  Bengaluru 560001',
      lsa: 'ka',
      pos_agent_id: 'POS-KA/0042_a.1',
      activation_date: '01-06-2024',
      photo: 'batch-7/ravi.jpg',
      unrelated_column: 'ignored',
    };
    expect(validateManifestRow(row, TODAY)).toEqual({
      ok: true,
      value: {
        msisdn: '+919876543210',
        name: 'Ravi Kumar',
        fatherName: 'Suresh Kumar',
        dob: '1990-08-15',
        gender: 'M',
        idType: 'aadhaar',
        idNumber: VALID_AADHAAR,
        idMasked: 'XXXXXXXX2346',
        address: '12, MG Road, Bengaluru 560001',
        lsa: 'KA',
        posAgentId: 'POS-KA/0042_a.1',
        activationDate: '2024-06-01',
        photo: 'batch-7/ravi.jpg',
      },
    });
  });

  it('turns missing and blank optional fields into null', () => {
    const value = expectValid(validRow({ father_name: '   ', dob: '', gender: undefined }));
    expect(value.fatherName).toBeNull();
    expect(value.dob).toBeNull();
    expect(value.gender).toBeNull();
    expect(value.address).toBeNull();
  });

  it('accepts non-Latin names and every ID type', () => {
    expect(expectValid(validRow({ name: 'रवि  कुमार' })).name).toBe('रवि कुमार');
    expect(expectValid(validRow({ id_type: 'PAN', id_number: 'abcde1234f' }))).toMatchObject({
      idType: 'pan',
      idNumber: 'ABCDE1234F',
      idMasked: 'XXXXXX234F',
    });
    expect(expectValid(validRow({ id_type: 'driving_licence', id_number: 'MH-12-2011-0012345' })).idNumber).toBe(
      'MH1220110012345',
    );
  });

  it('reports every required column when the row is empty', () => {
    expectErrors(
      {},
      REQUIRED_COLUMNS.map((column) => `${column}:required`),
    );
    expectErrors(
      Object.fromEntries(REQUIRED_COLUMNS.map((column) => [column, '  '])),
      REQUIRED_COLUMNS.map((column) => `${column}:required`),
    );
  });

  it('collects the errors of every bad field, not just the first', () => {
    const errors = expectErrors(
      {
        msisdn: '12345',
        name: '1234',
        father_name: 'x'.repeat(201),
        dob: '2023-02-30',
        gender: 'x',
        id_type: 'aadhaar',
        id_number: '234123412345',
        address: 'a'.repeat(501),
        lsa: 'XX',
        pos_agent_id: 'agent 01',
        activation_date: '31/04/2020',
        photo: '../etc/passwd',
      },
      [
        'msisdn:invalid_msisdn',
        'name:invalid_characters',
        'father_name:too_long',
        'dob:invalid_date',
        'gender:invalid_gender',
        'id_number:invalid_aadhaar_checksum',
        'address:too_long',
        'lsa:unknown_lsa',
        'pos_agent_id:invalid_characters',
        'activation_date:invalid_date',
        'photo:invalid_characters',
      ],
    );
    for (const error of errors) {
      expect(FIELD_ERROR_CODES).toContain(error.code);
      expect(error.message.length).toBeGreaterThan(10);
    }
  });

  it('reports an unknown id type without judging the id number against a guessed format', () => {
    expectErrors(validRow({ id_type: 'ration_card', id_number: '!!' }), ['id_type:invalid_id_type']);
    expectErrors(validRow({ id_type: 'ration_card', id_number: '' }), [
      'id_type:invalid_id_type',
      'id_number:required',
    ]);
    expectErrors(validRow({ id_type: '', id_number: '' }), ['id_type:required', 'id_number:required']);
  });

  it('checks id numbers against the declared type', () => {
    expectErrors(validRow({ id_type: 'pan', id_number: VALID_AADHAAR }), ['id_number:invalid_pan']);
    expectErrors(validRow({ id_type: 'passport', id_number: 'ABCDE1234F' }), ['id_number:invalid_passport']);
    expectErrors(validRow({ id_type: 'voter_id', id_number: 'AB1234567' }), ['id_number:invalid_voter_id']);
    expectErrors(validRow({ id_type: 'driving_licence', id_number: 'MH12' }), ['id_number:invalid_driving_licence']);
    expectErrors(validRow({ id_type: 'other', id_number: 'A-B' }), ['id_number:invalid_id_number']);
    expectErrors(validRow({ id_number: '134123412346' }), ['id_number:invalid_aadhaar']);
  });

  it('never puts the raw or normalised id number into any error message', () => {
    const cases: [string, string, string][] = [
      ['aadhaar', '2341 2341 2345', '234123412345'],
      ['aadhaar', '1341-2341-2346', '134123412346'],
      ['pan', 'abcd 1234f', 'ABCD1234F'],
      ['passport', 'z 98765432', 'Z98765432'],
      ['voter_id', 'xy-9876543', 'XY9876543'],
      ['driving_licence', 'mh/12/20', 'MH1220'],
      ['other', 'q#7731', 'Q#7731'],
    ];
    for (const [idType, raw, normalised] of cases) {
      const result = validateManifestRow(validRow({ id_type: idType, id_number: raw, msisdn: 'bad' }), TODAY);
      if (result.ok) throw new Error(`expected ${idType} ${raw} to be rejected`);
      expect(result.errors.some((e) => e.field === 'id_number')).toBe(true);
      const serialised = JSON.stringify(result.errors);
      expect(serialised).not.toContain(raw);
      expect(serialised.toUpperCase()).not.toContain(normalised);
      expect(serialised).not.toContain(normalised.slice(-4));
    }
  });

  it('does not echo other submitted values either', () => {
    const errors = expectErrors(validRow({ msisdn: '5876543210', name: '\u0007Zxqv' }), [
      'msisdn:invalid_msisdn',
      'name:invalid_characters',
    ]);
    expect(JSON.stringify(errors)).not.toContain('5876543210');
    expect(JSON.stringify(errors)).not.toContain('Zxqv');
  });

  describe('names', () => {
    it('limits length to 200 characters after collapsing whitespace', () => {
      expect(expectValid(validRow({ name: 'a'.repeat(200) })).name).toHaveLength(200);
      expect(expectValid(validRow({ name: `${'a'.repeat(100)}     ${'b'.repeat(99)}` })).name).toHaveLength(200);
      expectErrors(validRow({ name: 'a'.repeat(201) }), ['name:too_long']);
    });

    it('requires a letter and rejects control characters', () => {
      expectErrors(validRow({ name: '12345' }), ['name:invalid_characters']);
      expectErrors(validRow({ name: '-- .' }), ['name:invalid_characters']);
      expectErrors(validRow({ name: 'Ravi\u0000Kumar' }), ['name:invalid_characters']);
      expectErrors(validRow({ name: 'Ravi\tKumar' }), ['name:invalid_characters']);
      expectErrors(validRow({ father_name: 'Suresh\nKumar' }), ['father_name:invalid_characters']);
    });

    it('can report both problems at once', () => {
      expectErrors(validRow({ name: '1'.repeat(201) }), ['name:invalid_characters', 'name:too_long']);
    });
  });

  describe('dates', () => {
    it('rejects dates of birth in the future or before 1900', () => {
      expectErrors(validRow({ dob: '2024-06-16' }), ['dob:date_in_future']);
      expectErrors(validRow({ dob: '31/12/1899' }), ['dob:date_too_early']);
      expect(expectValid(validRow({ dob: '1900-01-01' })).dob).toBe('1900-01-01');
    });

    it('rejects activation dates in the future or before 1995', () => {
      expectErrors(validRow({ activation_date: '2024-06-16' }), ['activation_date:date_in_future']);
      expectErrors(validRow({ activation_date: '31-12-1994' }), ['activation_date:date_too_early']);
      expect(expectValid(validRow({ activation_date: '15/06/2024' })).activationDate).toBe('2024-06-15');
      expect(expectValid(validRow({ activation_date: '1995-01-01' })).activationDate).toBe('1995-01-01');
    });

    it.each(['America/Chicago', 'Asia/Kolkata', 'UTC'])('uses the UTC calendar date of today with TZ=%s', (zone) => {
      // Run under non-UTC zones too: on a UTC machine local-time and UTC date arithmetic agree.
      const previousZone = process.env.TZ;
      process.env.TZ = zone;
      try {
        // 23:30 in UTC-05:00 is already the next day in UTC.
        const lateEvening = new Date('2024-06-15T23:30:00-05:00');
        expect(expectValid(validRow({ activation_date: '2024-06-16' }), lateEvening).activationDate).toBe('2024-06-16');
        // 01:00 in UTC+05:30 is still the previous day in UTC.
        const earlyMorning = new Date('2024-06-16T01:00:00+05:30');
        expectErrors(validRow({ activation_date: '2024-06-16' }), ['activation_date:date_in_future'], earlyMorning);
      } finally {
        if (previousZone === undefined) delete process.env.TZ;
        else process.env.TZ = previousZone;
      }
    });

    it('rejects an invalid reference date', () => {
      expect(() => validateManifestRow(validRow(), new Date('not a date'))).toThrow(RangeError);
    });
  });

  describe('minimum age', () => {
    const today = new Date('2030-01-01T00:00:00Z');

    it('accepts a subscriber on their 18th birthday and rejects one a day younger', () => {
      expectValid(validRow({ dob: '2006-06-01', activation_date: '2024-06-01' }), today);
      expectErrors(validRow({ dob: '2006-06-02', activation_date: '2024-06-01' }), ['dob:underage'], today);
    });

    it('treats a 29 February birthday as reached on 1 March in common years', () => {
      expectErrors(validRow({ dob: '2004-02-29', activation_date: '2022-02-28' }), ['dob:underage'], today);
      expectValid(validRow({ dob: '2004-02-29', activation_date: '2022-03-01' }), today);
    });

    it('rejects a date of birth after the activation date', () => {
      expectErrors(validRow({ dob: '2024-06-02', activation_date: '2024-06-01' }), ['dob:underage'], today);
    });

    it('is only checked when both dates are valid', () => {
      expectErrors(validRow({ dob: '2024-06-02', activation_date: '2024-02-30' }), ['activation_date:invalid_date']);
      expectErrors(validRow({ dob: 'soon', activation_date: '2024-06-01' }), ['dob:invalid_date']);
    });
  });

  describe('other fields', () => {
    it('validates gender case-insensitively', () => {
      expect(expectValid(validRow({ gender: 'TRANSGENDER' })).gender).toBe('T');
      expect(expectValid(validRow({ gender: 'f' })).gender).toBe('F');
      expectErrors(validRow({ gender: 'unknown' }), ['gender:invalid_gender']);
    });

    it('validates the id type case-insensitively', () => {
      expect(expectValid(validRow({ id_type: 'OTHER', id_number: 'ration-1234' })).idNumber).toBe('RATION1234');
      expectErrors(validRow({ id_type: 'aadhar' }), ['id_type:invalid_id_type']);
    });

    it('validates the LSA code', () => {
      expect(expectValid(validRow({ lsa: ' mu ' })).lsa).toBe('MU');
      expectErrors(validRow({ lsa: 'IN' }), ['lsa:unknown_lsa']);
      expectErrors(validRow({ lsa: 'Mumbai' }), ['lsa:unknown_lsa']);
    });

    it('limits addresses to 500 characters and rejects control characters', () => {
      expect(expectValid(validRow({ address: 'a'.repeat(500) })).address).toHaveLength(500);
      expectErrors(validRow({ address: 'a'.repeat(501) }), ['address:too_long']);
      expectErrors(validRow({ address: 'Flat 1\u0000MG Road' }), ['address:invalid_characters']);
    });

    it('validates the POS agent id', () => {
      expect(expectValid(validRow({ pos_agent_id: 'a'.repeat(64) })).posAgentId).toHaveLength(64);
      expectErrors(validRow({ pos_agent_id: 'a'.repeat(65) }), ['pos_agent_id:too_long']);
      expectErrors(validRow({ pos_agent_id: 'agent@shop' }), ['pos_agent_id:invalid_characters']);
      expectErrors(validRow({ pos_agent_id: `${'a'.repeat(64)} ` + 'b' }), [
        'pos_agent_id:too_long',
        'pos_agent_id:invalid_characters',
      ]);
    });

    it('rejects photo paths that could escape the upload directory', () => {
      for (const photo of [
        '/etc/passwd',
        '\\\\server\\share\\p.jpg',
        'C:\\photos\\p.jpg',
        'a/../../b.jpg',
        'a\\..\\b.jpg',
        '..',
      ]) {
        expectErrors(validRow({ photo }), ['photo:invalid_characters']);
      }
      expect(expectValid(validRow({ photo: 'a..b/c..jpg' })).photo).toBe('a..b/c..jpg');
      expect(expectValid(validRow({ photo: `${'p'.repeat(251)}.jpg` })).photo).toHaveLength(255);
      expectErrors(validRow({ photo: `${'p'.repeat(252)}.jpg` }), ['photo:too_long']);
    });

    it('rejects invalid mobile numbers', () => {
      expectErrors(validRow({ msisdn: '022-12345678' }), ['msisdn:invalid_msisdn']);
    });
  });
});

describe('containsIdentifier', () => {
  it('finds numbers that identify a person in free text', () => {
    for (const text of [
      'same man as 2341 2341 2346',
      'aadhaar 234123412346 again',
      'called him on 9876543210',
      'called +91 9876543210',
      'PAN ABCPE1234F',
      'passport k1234567 seen',
      'EPIC ABC1234567',
      'ref 123456789',
    ]) {
      expect([text, containsIdentifier(text)]).toEqual([text, true]);
    }
  });

  it('lets ordinary notes through', () => {
    for (const text of ['looks like the same person, different lighting', 'POS-0042 again', 'cluster 1234, 3 faces']) {
      expect([text, containsIdentifier(text)]).toEqual([text, false]);
    }
  });
});

import { stringify } from 'csv-stringify/sync';
import { verhoeffCheckDigit } from '../services/kyc-validators.js';

/** The manifest header in the documented column order. */
export const MANIFEST_HEADER = [
  'msisdn',
  'name',
  'father_name',
  'dob',
  'gender',
  'id_type',
  'id_number',
  'address',
  'lsa',
  'pos_agent_id',
  'activation_date',
  'photo',
] as const;
export type ManifestColumn = (typeof MANIFEST_HEADER)[number];
export type SampleRow = Record<ManifestColumn, string>;

/** Common Indian first names and surnames for generated subscribers. */
export const FIRST_NAMES = [
  'Aarav',
  'Vivaan',
  'Aditya',
  'Ishaan',
  'Priya',
  'Ananya',
  'Diya',
  'Kavya',
  'Rohan',
  'Meera',
  'Arjun',
  'Sanjay',
  'Lakshmi',
  'Farhan',
  'Imran',
  'Gurpreet',
  'Harpreet',
  'Suresh',
  'Neha',
  'Pooja',
];
export const SURNAMES = [
  'Sharma',
  'Verma',
  'Iyer',
  'Reddy',
  'Khan',
  'Singh',
  'Patel',
  'Das',
  'Nair',
  'Gupta',
  'Bose',
  'Mehta',
  'Joshi',
  'Kulkarni',
  'Chatterjee',
  'Yadav',
  'Pillai',
  'Ansari',
  'Mishra',
  'Rao',
];
const LSAS = ['DL', 'HR', 'MH', 'KA', 'TN', 'UE', 'WB', 'GJ', 'RJ', 'PB'];

/** A deterministic valid Aadhaar-format number (Verhoeff check digit included) for sample subscriber `n`. */
export function sampleAadhaar(n: number): string {
  const body = String(2_000_000_000_00 + ((n * 7_919_317) % 7_999_999_999_9))
    .padStart(11, '2')
    .slice(0, 11);
  return body + verhoeffCheckDigit(body);
}

/** A deterministic valid Indian mobile number for sample subscriber `n`. */
export function sampleMsisdn(n: number): string {
  return `+919${String(100_000_000 + n).slice(-9)}`;
}

/**
 * One plausible subscriber row per photo: each with its own name and Aadhaar number, as a fraud ring presents
 * one face under many identities.
 */
export function sampleRow(n: number, photo: string): SampleRow {
  const first = FIRST_NAMES[n % FIRST_NAMES.length]!;
  const last = SURNAMES[Math.floor(n / FIRST_NAMES.length) % SURNAMES.length]!;
  const year = 1960 + (n % 40);
  return {
    msisdn: sampleMsisdn(n),
    name: `${first} ${last}`,
    father_name: `${FIRST_NAMES[(n + 7) % FIRST_NAMES.length]!} ${last}`,
    dob: `${year}-0${1 + (n % 9)}-1${n % 10}`,
    gender: n % 2 === 0 ? 'M' : 'F',
    id_type: 'aadhaar',
    id_number: sampleAadhaar(n),
    address: `${1 + (n % 200)} Main Road, Sector ${1 + (n % 60)}`,
    lsa: LSAS[n % LSAS.length]!,
    pos_agent_id: `POS-${String(1 + (n % 12)).padStart(4, '0')}`,
    activation_date: `2025-0${1 + (n % 9)}-2${n % 8}`,
    photo,
  };
}

export function manifestCsv(rows: readonly SampleRow[]): string {
  return stringify([[...MANIFEST_HEADER], ...rows.map((row) => MANIFEST_HEADER.map((column) => row[column]))]);
}

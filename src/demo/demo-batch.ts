import { RESTRICTED_LSAS, SIM_CAP_RESTRICTED } from '../services/fraud-rules.js';
import { verhoeffCheckDigit } from '../services/kyc-validators.js';
import { facelessPhoto, RING_TRANSFORMS, transformPhoto, type PhotoTransform } from './demo-photos.js';
import type { CaseKind, PlantedCase } from './demo-score.js';
import type { SampleRow } from './sample-batch.js';
import { FIRST_NAMES as SAMPLE_FIRST_NAMES, SURNAMES as SAMPLE_SURNAMES } from './sample-batch.js';

export const DEMO_OPERATORS = [
  { code: 'JIO', name: 'Reliance Jio' },
  { code: 'AIRTEL', name: 'Bharti Airtel' },
  { code: 'VI', name: 'Vodafone Idea' },
] as const;
export type DemoOperator = (typeof DEMO_OPERATORS)[number]['code'];

/** One person of the demo's cast: a screened source photo of a real face. */
export interface CastMember {
  label: string;
  photo: Buffer;
}

/** One KYC record to upload: its operator, manifest row and photo bytes (`photo` is null for a missing file). */
export interface DemoRecord {
  operator: DemoOperator;
  row: SampleRow;
  photo: Buffer | null;
}

export interface DemoPlan {
  records: DemoRecord[];
  cases: PlantedCase[];
  /** Rows the API must reject (bad checksum, bad number, missing photo): shown, not scored. */
  rejectedRows: number;
}

// The sample names plus names from the North East, Kashmir and more, so the demo's LSAs look real.
const FIRST_NAMES = [
  ...SAMPLE_FIRST_NAMES,
  'Tenzin',
  'Bikash',
  'Nasreen',
  'Zoya',
  'Ravi',
  'Deepa',
  'Manoj',
  'Sunita',
  'Abdul',
  'Fatima',
  'Rahul',
];
const SURNAMES = [...SAMPLE_SURNAMES, 'Bhat', 'Gogoi', 'Bora', 'Lone', 'Dar', 'Kaul', 'Saikia', 'Thakur', 'Menon'];
const ORDINARY_LSAS = ['DL', 'MH', 'MU', 'KA', 'TN', 'UE', 'UW', 'WB', 'KO', 'GJ', 'HR', 'RJ', 'JK', 'AS', 'NE', 'KL'];
const STREETS = ['MG Road', 'Station Road', 'Gandhi Nagar', 'Lal Chowk', 'GS Road', 'Park Street', 'Civil Lines'];

interface Identity {
  name: string;
  father_name: string;
  dob: string;
  gender: string;
  id_type: string;
  id_number: string;
  address: string;
}

/**
 * Builds the demo batch: planted fraud with its ground truth, traps that must not be flagged, and ordinary
 * subscribers. Each cast member appears in exactly one case, so the cases cannot leak into each other.
 */
export async function buildDemoPlan(
  cast: readonly CastMember[],
  unusable: readonly CastMember[],
  random: () => number,
): Promise<DemoPlan> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const two = (n: number) => String(n).padStart(2, '0');
  let identities = 0;
  const newIdentity = (): Identity => {
    const n = identities++;
    const first = FIRST_NAMES[n % FIRST_NAMES.length]!;
    const last = SURNAMES[(n * 7 + Math.floor(n / FIRST_NAMES.length)) % SURNAMES.length]!;
    const kind = n % 10;
    const digits = String(10_000_000_000 + Math.floor(random() * 89_999_999_999)).slice(0, 11);
    const aadhaarBody = `${2 + (n % 8)}${digits.slice(1)}`;
    const letters = (count: number) =>
      Array.from({ length: count }, () => String.fromCharCode(65 + Math.floor(random() * 26))).join('');
    const document =
      kind === 8
        ? { id_type: 'pan', id_number: `${letters(5)}${digits.slice(0, 4)}${letters(1)}` }
        : kind === 9
          ? { id_type: 'voter_id', id_number: `${letters(3)}${digits.slice(0, 7)}` }
          : { id_type: 'aadhaar', id_number: aadhaarBody + verhoeffCheckDigit(aadhaarBody) };
    return {
      name: `${first} ${last}`,
      father_name: `${pick(FIRST_NAMES)} ${last}`,
      dob: `${1962 + Math.floor(random() * 42)}-${two(1 + Math.floor(random() * 12))}-${two(1 + Math.floor(random() * 28))}`,
      gender: n % 2 === 0 ? 'M' : 'F',
      ...document,
      address: `${1 + Math.floor(random() * 400)} ${pick(STREETS)}, Ward ${1 + Math.floor(random() * 40)}`,
    };
  };
  const msisdns = new Set<string>();
  const newMsisdn = (): string => {
    for (;;) {
      const msisdn = `+91${6 + Math.floor(random() * 4)}${String(Math.floor(random() * 1e9)).padStart(9, '0')}`;
      if (!msisdns.has(msisdn)) {
        msisdns.add(msisdn);
        return msisdn;
      }
    }
  };
  const operators = DEMO_OPERATORS.map((o) => o.code);
  // A few agents per operator; each ring goes through one operator's rogue agent (number 13).
  const agent = (operator: DemoOperator, rogue = false) =>
    `${operator}-POS-${rogue ? '13' : two(1 + Math.floor(random() * 6))}`;

  const records: DemoRecord[] = [];
  const cases: PlantedCase[] = [];
  const addRecord = async (
    identity: Identity,
    member: CastMember,
    transform: PhotoTransform,
    options: { operator?: DemoOperator; lsa?: string; rogue?: boolean } = {},
  ): Promise<string> => {
    const operator = options.operator ?? pick(operators);
    const lsa = options.lsa ?? pick(ORDINARY_LSAS);
    const msisdn = newMsisdn();
    records.push({
      operator,
      row: {
        msisdn,
        ...identity,
        lsa,
        pos_agent_id: agent(operator, options.rogue),
        activation_date: `2025-${two(1 + Math.floor(random() * 12))}-${two(1 + Math.floor(random() * 28))}`,
        photo: `${msisdn.slice(1)}.jpg`,
      },
      photo: await transformPhoto(member.photo, transform, random),
    });
    return msisdn;
  };
  const addCase = (kind: CaseKind, expected: string | null, title: string, numbers: string[]) =>
    cases.push({
      id: `${kind}-${cases.filter((c) => c.kind === kind).length + 1}`,
      kind,
      expected,
      title,
      msisdns: numbers,
    });

  const people = [...cast];
  const take = (): CastMember => {
    const member = people.shift();
    if (!member) throw new Error('the demo cast ran out of people');
    return member;
  };
  // Larger casts (a dataset) get more rings and traps; the 21 sample faces alone still cover every case.
  const large = people.length >= 30;

  // Rings: one stolen photo, transformed, under a different name and document each time, via a rogue agent.
  const ringSizes = large ? [5, 4, 4, 3] : [5, 4];
  for (const [r, size] of ringSizes.entries()) {
    const member = take();
    const lsa = r === 0 ? 'AS' : pick(ORDINARY_LSAS);
    const numbers: string[] = [];
    const used: string[] = [];
    for (let i = 0; i < size; i++) {
      const transform: PhotoTransform = i === 0 ? 'copy' : RING_TRANSFORMS[(i - 1 + r) % RING_TRANSFORMS.length]!;
      used.push(transform);
      numbers.push(await addRecord(newIdentity(), member, transform, { lsa, rogue: true }));
    }
    addCase(
      'ring',
      'MULTI_IDENTITY_FACE',
      `one face (${member.label}) under ${size} names and documents; photo ${used.slice(1).join(', ')}`,
      numbers,
    );
  }

  // Over the SIM cap under one name: 8 connections in Jammu & Kashmir (cap 6), across operators.
  {
    const member = take();
    const identity = newIdentity();
    const numbers: string[] = [];
    for (let i = 0; i < 8; i++) {
      numbers.push(await addRecord(identity, member, 'mild', { lsa: 'JK', operator: operators[i % operators.length] }));
    }
    addCase(
      'sim_cap',
      'SIM_CAP_EXCEEDED',
      `${identity.name}: 8 connections in JK (cap 6), one name and document`,
      numbers,
    );
  }

  // One document under two faces: the owner's, and an impostor's with the same name, date of birth and number.
  {
    const identity = newIdentity();
    const owner = take();
    const impostor = take();
    const numbers = [
      await addRecord(identity, owner, 'copy', { operator: 'AIRTEL' }),
      await addRecord(identity, impostor, 'copy', { operator: 'VI', rogue: true }),
    ];
    addCase(
      'document_reuse',
      'DOCUMENT_REUSE',
      `${identity.id_type} of ${identity.name} on two different faces`,
      numbers,
    );
  }

  // One photo reused: the same picture (twice byte for byte, once recompressed) under three identities.
  {
    const member = take();
    const numbers = [
      await addRecord(newIdentity(), member, 'copy', { operator: 'JIO', rogue: true }),
      await addRecord(newIdentity(), member, 'copy', { operator: 'JIO', rogue: true }),
      await addRecord(newIdentity(), member, 'recompressed', { operator: 'AIRTEL' }),
    ];
    addCase('photo_reuse', 'PHOTO_REUSE', `one picture (${member.label}) under 3 identities`, numbers);
  }

  // Photos with no usable face: a blank form photographed, and real photos the pipeline finds no usable face in
  // (since pipeline revision 3 a turned or blurred face is embedded with a flag, so these are rarer).
  {
    const blank = { label: 'blank form', photo: await facelessPhoto() };
    const numbers: string[] = [await addRecord(newIdentity(), blank, 'copy')];
    const real = unusable.slice(0, 2);
    for (const member of real) numbers.push(await addRecord(newIdentity(), member, 'copy'));
    const what = ['blank form', ...real.map((member) => member.label)].join(', ');
    addCase(
      'no_usable_face',
      'NO_USABLE_FACE',
      `${numbers.length} ${numbers.length === 1 ? 'photo' : 'photos'} without a usable face (${what})`,
      numbers,
    );
  }

  // Trap: different people, one connection each; two of them share a common name (a namesake, not a ring).
  {
    const count = large ? 8 : 4;
    const numbers: string[] = [];
    const namesake = newIdentity();
    for (let i = 0; i < count; i++) {
      const identity = i < 2 ? { ...newIdentity(), name: namesake.name } : newIdentity();
      numbers.push(await addRecord(identity, take(), 'copy'));
    }
    addCase(
      'distinct_people',
      null,
      `${count} different people, one connection each (two named ${namesake.name})`,
      numbers,
    );
  }

  // Trap: one person with 4 connections in Assam (cap 6) under one name and document.
  {
    const member = take();
    const identity = newIdentity();
    const numbers: string[] = [];
    for (let i = 0; i < 4; i++) {
      numbers.push(await addRecord(identity, member, 'mild', { lsa: 'AS', operator: operators[i % operators.length] }));
    }
    addCase('few_sims', null, `${identity.name}: 4 connections in AS (cap 6), one name and document`, numbers);
  }

  // Everyone else: an ordinary subscriber with 1-6 connections under their own name, across operators (within
  // the cap of their LSA).
  while (people.length > 0) {
    const member = take();
    const identity = newIdentity();
    const lsa = pick(ORDINARY_LSAS);
    const roll = random();
    const wanted = roll < 0.1 ? 1 : roll < 0.25 ? 2 : roll < 0.45 ? 3 : roll < 0.65 ? 4 : roll < 0.85 ? 5 : 6;
    const connections = Math.min(wanted, RESTRICTED_LSAS.has(lsa) ? SIM_CAP_RESTRICTED - 1 : wanted);
    const numbers: string[] = [];
    for (let i = 0; i < connections; i++)
      numbers.push(await addRecord(identity, member, i === 0 ? 'copy' : 'mild', { lsa }));
    addCase('ordinary', null, `${identity.name} (${member.label})`, numbers);
  }

  // Rows an operator's export gets wrong: the API rejects them with per-row errors.
  const template = records.find((record) => record.operator === 'JIO')!.row;
  const bad: DemoRecord[] = [
    {
      operator: 'JIO',
      row: { ...template, msisdn: newMsisdn(), id_type: 'aadhaar', id_number: '234123412345' },
      photo: null,
    },
    { operator: 'JIO', row: { ...template, msisdn: '12345' }, photo: null },
    { operator: 'JIO', row: { ...template, msisdn: newMsisdn(), photo: 'missing.jpg' }, photo: null },
  ];
  // Shuffle so each operator's batch mixes fraud, traps and ordinary rows as a real export would.
  for (let i = records.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [records[i], records[j]] = [records[j]!, records[i]!];
  }
  return { records: [...bad, ...records], cases, rejectedRows: bad.length };
}

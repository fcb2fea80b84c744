import path from 'node:path';
import { SIM_CAP, SIM_CAP_RESTRICTED } from '../services/fraud-rules.js';
import { verhoeffCheckDigit } from '../services/kyc-validators.js';
import { FIRST_NAMES, SURNAMES, type SampleRow } from '../demo/sample-batch.js';

/** The kinds of case a scenario plants; each person appears in exactly one case. */
export type ScenarioCaseKind =
  'ring' | 'cap_one_document' | 'cap_two_documents' | 'document_reuse' | 'legitimate_multi_sim' | 'single_sim';

/** Which cases are identity fraud, which are cap breaches, and which must stay unflagged. */
export const IDENTITY_FRAUD: ReadonlySet<ScenarioCaseKind> = new Set(['ring', 'document_reuse']);
export const CAP_BREACH: ReadonlySet<ScenarioCaseKind> = new Set(['cap_one_document', 'cap_two_documents']);
export const LEGITIMATE: ReadonlySet<ScenarioCaseKind> = new Set(['legitimate_multi_sim', 'single_sim']);

export interface ScenarioRecord {
  caseId: string;
  kind: ScenarioCaseKind;
  /** The real person in the photo (the dataset's identity folder). */
  person: string;
  row: Omit<SampleRow, 'photo'>;
  /** Absolute path of the photo. */
  photo: string;
}

export interface Scenario {
  records: ScenarioRecord[];
  cases: { id: string; kind: ScenarioCaseKind; people: string[]; records: number }[];
}

/**
 * Plans a KYC batch from `<identity>/<image>` photos: every case drawn from *different* photos of its person.
 * People with many photos go to cap breaches first, then rings; the rest become document reuse pairs,
 * legitimate multi-SIM subscribers and single-SIM strangers, in roughly the mix of the held-out KYC scenario.
 */
export function planScenario(photosByPerson: ReadonlyMap<string, readonly string[]>, random: () => number): Scenario {
  const people = shuffle([...photosByPerson.keys()].sort(), random);
  const photos = new Map([...photosByPerson].map(([person, list]) => [person, shuffle([...list], random)]));
  const records: ScenarioRecord[] = [];
  const cases: Scenario['cases'] = [];
  let identities = 0;
  let numbers = 0;
  const newIdentity = () => {
    const n = identities++;
    const first = FIRST_NAMES[Math.floor(random() * FIRST_NAMES.length)]!;
    const last = SURNAMES[Math.floor(random() * SURNAMES.length)]!;
    const body = `${2 + (n % 8)}${String(Math.floor(random() * 1e10)).padStart(10, '0')}`;
    return {
      name: `${first} ${last}`,
      father_name: `${FIRST_NAMES[Math.floor(random() * FIRST_NAMES.length)]!} ${last}`,
      dob: `${1960 + Math.floor(random() * 45)}-${pad(1 + Math.floor(random() * 12))}-${pad(1 + Math.floor(random() * 28))}`,
      gender: random() < 0.5 ? 'M' : 'F',
      id_type: 'aadhaar',
      id_number: body + verhoeffCheckDigit(body),
      address: `${1 + Math.floor(random() * 400)} Station Road, Ward ${1 + Math.floor(random() * 40)}`,
    };
  };
  const pan = () => {
    const letter = () => String.fromCharCode(65 + Math.floor(random() * 26));
    return `${letter()}${letter()}${letter()}P${letter()}${String(Math.floor(random() * 1e4)).padStart(4, '0')}${letter()}`;
  };
  const add = (
    caseId: string,
    kind: ScenarioCaseKind,
    person: string,
    identity: ReturnType<typeof newIdentity>,
    photo: string,
    lsa: string,
    agent: string,
    day: number,
  ) => {
    const n = numbers++;
    records.push({
      caseId,
      kind,
      person,
      photo,
      row: {
        msisdn: `+91${6 + (n % 4)}${String(100_000_000 + ((n * 7_919) % 899_999_999)).slice(-9)}`,
        ...identity,
        lsa,
        pos_agent_id: agent,
        activation_date: `2025-${pad(1 + (Math.floor(day / 28) % 12))}-${pad(1 + (day % 28))}`,
      },
    });
  };
  const lsas = ['DL', 'MH', 'KA', 'TN', 'UE', 'WB', 'GJ', 'RJ', 'HR', 'PB'];
  const randomLsa = () => lsas[Math.floor(random() * lsas.length)]!;
  const randomAgent = () => `POS-${pad(1 + Math.floor(random() * 40))}`;
  const randomDay = () => Math.floor(random() * 330);
  const take = (person: string, n: number) => photos.get(person)!.slice(0, n);

  // A share of each kind, applied to the people with enough photos for it.
  const plan: { kind: ScenarioCaseKind; share: number; minPhotos: number }[] = [
    { kind: 'cap_one_document', share: 0.1, minPhotos: SIM_CAP_RESTRICTED + 1 },
    { kind: 'cap_two_documents', share: 0.06, minPhotos: SIM_CAP_RESTRICTED + 1 },
    { kind: 'ring', share: 0.2, minPhotos: 3 },
    { kind: 'document_reuse', share: 0.12, minPhotos: 1 },
    { kind: 'legitimate_multi_sim', share: 0.27, minPhotos: 2 },
  ];
  const remaining = [...people];
  const claim = (count: number, minPhotos: number) => {
    const chosen: string[] = [];
    for (let i = 0; i < remaining.length && chosen.length < count;) {
      if (photos.get(remaining[i]!)!.length >= minPhotos) chosen.push(...remaining.splice(i, 1));
      else i++;
    }
    return chosen;
  };
  let caseNumber = 0;
  for (const { kind, share, minPhotos } of plan) {
    const count = Math.max(kind === 'document_reuse' ? 2 : 1, Math.round(people.length * share));
    const chosen = claim(count - (kind === 'document_reuse' ? count % 2 : 0), minPhotos);
    if (kind === 'document_reuse') {
      // One Aadhaar on two different people, each enrolled once or twice under the owner's name.
      for (let i = 0; i + 1 < chosen.length; i += 2) {
        const id = `reuse-${++caseNumber}`;
        const identity = newIdentity();
        const lsa = randomLsa();
        for (const person of [chosen[i]!, chosen[i + 1]!]) {
          for (const photo of take(person, 1 + Math.floor(random() * 2)))
            add(id, kind, person, identity, photo, lsa, randomAgent(), randomDay());
        }
        cases.push({ id, kind, people: [chosen[i]!, chosen[i + 1]!], records: 0 });
      }
      continue;
    }
    for (const person of chosen) {
      const id = `${kind}-${++caseNumber}`;
      const available = photos.get(person)!.length;
      if (kind === 'ring') {
        // One face under 3-4 names and Aadhaar numbers, through one rogue agent within a few weeks.
        const agent = randomAgent();
        const day = randomDay();
        for (const photo of take(person, Math.min(available, 3 + Math.floor(random() * 2))))
          add(id, kind, person, newIdentity(), photo, randomLsa(), agent, day + Math.floor(random() * 20));
      } else if (kind === 'cap_one_document') {
        // One name and document over the cap: 11 SIMs in HR when there are photos for it, else 7 in JK.
        const identity = newIdentity();
        const [lsa, count] =
          available > SIM_CAP ? ['HR', Math.min(available, SIM_CAP + 2)] : ['JK', SIM_CAP_RESTRICTED + 1];
        for (const photo of take(person, count))
          add(id, kind, person, identity, photo, lsa, randomAgent(), randomDay());
      } else if (kind === 'cap_two_documents') {
        // One person with an Aadhaar and a PAN, the same name and date of birth, over the cap only together.
        const aadhaar = newIdentity();
        const panIdentity = { ...aadhaar, id_type: 'pan', id_number: pan() };
        const [lsa, count] = available > SIM_CAP ? ['HR', SIM_CAP + 1] : ['JK', SIM_CAP_RESTRICTED + 1];
        take(person, count).forEach((photo, i) =>
          add(id, kind, person, i % 2 === 0 ? aadhaar : panIdentity, photo, lsa, randomAgent(), randomDay()),
        );
      } else if (kind === 'legitimate_multi_sim') {
        // One name, one document, 2-3 SIMs, each with a different photo.
        const identity = newIdentity();
        const lsa = randomLsa();
        for (const photo of take(person, Math.min(available, 2 + Math.floor(random() * 2))))
          add(id, kind, person, identity, photo, lsa, randomAgent(), randomDay());
      }
      cases.push({ id, kind, people: [person], records: 0 });
    }
  }
  for (const person of remaining) {
    const id = `single-${++caseNumber}`;
    add(id, 'single_sim', person, newIdentity(), take(person, 1)[0]!, randomLsa(), randomAgent(), randomDay());
    cases.push({ id, kind: 'single_sim', people: [person], records: 0 });
  }
  for (const c of cases) c.records = records.filter((record) => record.caseId === c.id).length;
  return { records, cases };
}

/** `<identity>/<image>` files grouped by identity. */
export function photosByPerson(dataset: string, files: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const file of files) {
    const person = path.relative(dataset, file).split(path.sep)[0]!;
    groups.set(person, [...(groups.get(person) ?? []), file]);
  }
  return groups;
}

/**
 * Splits people into two halves by a hash of their name, so thresholds are chosen on one half (`tune`) and
 * reported on the other (`report`), and the split does not move when photos are added.
 */
export function halfOf(person: string): 'tune' | 'report' {
  let hash = 2_166_136_261;
  for (const char of person) hash = Math.imul(hash ^ char.charCodeAt(0), 16_777_619);
  return (hash >>> 0) % 2 === 0 ? 'tune' : 'report';
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

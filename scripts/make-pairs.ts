/**
 * Writes an LFW-style pairs.txt for a labelled folder of `<identity>/<image>` photos, for
 * `simsift eval --dataset DIR --pairs FILE`:
 *
 *   npx tsx scripts/make-pairs.ts DIR [--folds 10] [--per-fold 300] [--seed 1] [--out pairs.txt]
 *
 * As in LFW's view 2, the folds hold disjoint sets of people (identities are shuffled and dealt round-robin),
 * and each fold has n genuine pairs (`name n1 n2`) then n impostor pairs (`name1 n1 name2 n2`), drawn
 * uniformly without repeats from the pairs possible inside the fold. n is `--per-fold`, lowered to what the
 * poorest fold allows; the header says `<folds>\t<n>`. The same folder and seed always give the same file.
 *
 * Image numbers come from the file names, `<n>.<ext>` or `<identity>_<nnnn>.<ext>` (LFW's); other files, and
 * identities whose names contain whitespace, are skipped with a warning.
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/eval/seeded-random.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    folds: { type: 'string', default: '10' },
    'per-fold': { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
  },
});
const dir = positionals[0];
const folds = Number(values.folds);
const perFold = Number(values['per-fold']);
const seed = Number(values.seed);
if (!dir || !(folds >= 2) || !(perFold >= 1) || !Number.isInteger(seed)) {
  process.stderr.write('usage: make-pairs.ts DIR [--folds 10] [--per-fold 300] [--seed 1] [--out FILE]\n');
  process.exit(2);
}

const next = seededRandom(seed);
const pick = (n: number) => Math.floor(next() * n);
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = pick(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

interface Identity {
  name: string;
  numbers: number[];
}

const identities: Identity[] = [];
const skipped: string[] = [];
for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.isDirectory()) continue;
  if (/\s/.test(entry.name)) {
    skipped.push(`${entry.name}/ (whitespace in the name)`);
    continue;
  }
  const numbers: number[] = [];
  for (const file of (await readdir(path.join(dir, entry.name))).sort()) {
    if (!/\.(jpe?g|png|webp)$/i.test(file)) continue;
    const stem = file.replace(/\.[^.]+$/, '');
    const match = /^(\d+)$/.exec(stem) ?? new RegExp(`^${escapeRegExp(entry.name)}_(\\d+)$`).exec(stem);
    if (match) numbers.push(Number(match[1]));
    else skipped.push(`${entry.name}/${file}`);
  }
  // Sorted and deduplicated so that `1.png` and `1.jpg` in one folder cannot make a pair of one image.
  const unique = [...new Set(numbers)].sort((a, b) => a - b);
  if (unique.length > 0) identities.push({ name: entry.name, numbers: unique });
}
if (skipped.length > 0) {
  process.stderr.write(`make-pairs: skipped ${skipped.length}: ${skipped.slice(0, 10).join(', ')}\n`);
}
if (identities.length < 2 * folds) {
  throw new Error(`${identities.length} identities: need at least 2 per fold (${2 * folds}) for impostor pairs`);
}

const foldIdentities: Identity[][] = Array.from({ length: folds }, () => []);
shuffle(identities).forEach((identity, i) => foldIdentities[i % folds]!.push(identity));

type Line = string;
const genuineOf = (fold: Identity[]): Line[] =>
  fold.flatMap(({ name, numbers }) =>
    numbers.flatMap((n1, i) => numbers.slice(i + 1).map((n2) => `${name}\t${n1}\t${n2}`)),
  );
const candidates = foldIdentities.map(genuineOf);
const n = Math.min(perFold, ...candidates.map((list) => list.length));
if (n === 0) throw new Error('a fold has no identity with two images: use fewer folds');
if (n < perFold) process.stderr.write(`make-pairs: ${n} pairs of each kind per fold (the poorest fold allows)\n`);

const lines: Line[] = [`${folds}\t${n}`];
foldIdentities.forEach((fold, f) => {
  lines.push(...shuffle(candidates[f]!).slice(0, n));
  // Impostors: any two images of different people in the fold, drawn until n distinct pairs.
  const images = fold.flatMap(({ name, numbers }) => numbers.map((number) => ({ name, number })));
  const possible = images.length ** 2 - fold.reduce((sum, identity) => sum + identity.numbers.length ** 2, 0);
  if (possible / 2 < n) throw new Error(`fold ${f + 1} has only ${possible / 2} impostor pairs, fewer than ${n}`);
  const seen = new Set<string>();
  while (seen.size < n) {
    let a = images[pick(images.length)]!;
    let b = images[pick(images.length)]!;
    if (a.name === b.name) continue;
    if (a.name > b.name) [a, b] = [b, a];
    const line = `${a.name}\t${a.number}\t${b.name}\t${b.number}`;
    if (seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
  }
});

const text = lines.join('\n') + '\n';
if (values.out) {
  await writeFile(values.out, text);
  process.stderr.write(`make-pairs: ${folds} folds x ${n} + ${n} pairs -> ${values.out}\n`);
} else {
  process.stdout.write(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** Where personal data was looked for, and what was found (document numbers masked). */
export interface PrivacySweep {
  documents: number;
  scanned: { where: string; bytes: number }[];
  leaks: { where: string; document: string }[];
}

/** A document number as the report may show it: all but the last four characters hidden. */
export function maskDocument(document: string): string {
  return `${'X'.repeat(Math.max(0, document.length - 4))}${document.slice(-4)}`;
}

/**
 * Looks for any of `documents` (identity document numbers, letters and digits) in plain text in each source.
 * Sources are read as latin1, so binary files (photos, the ANN index) are searched byte for byte too. Every run
 * of letters and digits is checked for each document as a substring, so a number glued to other text counts.
 */
export function findDocuments(
  sources: readonly { where: string; content: string | Buffer }[],
  documents: readonly string[],
): PrivacySweep {
  const wanted = new Set(documents.filter((d) => d.length >= 6).map((d) => d.toUpperCase()));
  const lengths = [...new Set([...wanted].map((d) => d.length))];
  const shortest = Math.min(...lengths);
  const leaks: PrivacySweep['leaks'] = [];
  const scanned: PrivacySweep['scanned'] = [];
  for (const source of sources) {
    const text = typeof source.content === 'string' ? source.content : source.content.toString('latin1');
    scanned.push({ where: source.where, bytes: Buffer.byteLength(text, 'latin1') });
    const found = new Set<string>();
    for (const run of text.matchAll(/[A-Za-z0-9]+/g)) {
      const token = run[0].toUpperCase();
      if (token.length < shortest) continue;
      for (const length of lengths) {
        for (let start = 0; start + length <= token.length; start++) {
          const candidate = token.slice(start, start + length);
          if (wanted.has(candidate)) found.add(candidate);
        }
      }
    }
    for (const document of found) leaks.push({ where: source.where, document: maskDocument(document) });
  }
  return { documents: wanted.size, scanned, leaks };
}

/** Every file under `dir` (recursively) with its bytes. */
export async function filesUnder(dir: string): Promise<{ where: string; content: Buffer }[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: { where: string; content: Buffer }[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.push({ where: path.relative(dir, file), content: await readFile(file) });
  }
  return files;
}

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Top-level folders whose whole tree the README shows. */
const SHOWN_ROOTS = ['src', 'workers', 'migrations', 'models', 'scripts', 'test', 'docs', 'docker'];

/** The folders the README's code layout block names: `name/` tokens, nested by two-space indentation. */
function foldersInReadme(): Set<string> {
  const readme = readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const block = /Code layout[\s\S]*?```text\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README has no code layout block');
  const parents: string[] = [];
  const folders = new Set<string>();
  for (const line of block.split('\n').filter((l) => l.trim())) {
    const depth = (line.length - line.trimStart().length) / 2;
    // Names come first; a description follows after two or more spaces.
    const names = line
      .trim()
      .split(/ {2,}/)[0]!
      .split(' ')
      .filter((name) => name.endsWith('/'));
    for (const name of names) {
      const folder = path.posix.join(...parents.slice(0, depth), name.slice(0, -1));
      folders.add(folder);
      if (names.length === 1) parents[depth] = name.slice(0, -1);
    }
  }
  return folders;
}

function foldersOnDisk(): Set<string> {
  const folders = new Set<string>();
  const walk = (relative: string) => {
    folders.add(relative);
    for (const entry of readdirSync(path.join(PROJECT_ROOT, relative), { withFileTypes: true }))
      if (entry.isDirectory()) walk(path.posix.join(relative, entry.name));
  };
  for (const root of SHOWN_ROOTS) if (statSync(path.join(PROJECT_ROOT, root), { throwIfNoEntry: false })) walk(root);
  return folders;
}

describe('README code layout', () => {
  it('shows exactly the folders on disk', () => {
    const shown = foldersInReadme();
    const onDisk = foldersOnDisk();
    expect([...onDisk].filter((folder) => !shown.has(folder)).sort()).toEqual([]);
    expect([...shown].filter((folder) => !onDisk.has(folder)).sort()).toEqual([]);
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileExists, isMissingFile } from '../../src/file-exists.js';

describe('fileExists', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'simsift-exists-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is true for a file and a directory, false for a path that is not there', async () => {
    const file = path.join(dir, 'index.usearch.loading');
    await writeFile(file, '');
    expect(await fileExists(file)).toBe(true);
    expect(await fileExists(dir)).toBe(true);
    expect(await fileExists(path.join(dir, 'absent'))).toBe(false);
  });

  it('throws an error other than "not there" instead of reading it as absence', async () => {
    // A path through a file: ENOTDIR, which says the caller's path is wrong, not that the file is missing.
    const file = path.join(dir, 'plain');
    await writeFile(file, '');
    await expect(fileExists(path.join(file, 'child'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});

describe('isMissingFile', () => {
  it('is true only for ENOENT', () => {
    expect(isMissingFile(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe(true);
    expect(isMissingFile(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(false);
    expect(isMissingFile(undefined)).toBe(false);
  });
});

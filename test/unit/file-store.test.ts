import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/repositories/file-store.repository.js';

describe('FileStore', () => {
  let dataDir: string;
  let files: FileStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'simsift-files-'));
    files = new FileStore(dataDir);
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('writes a file whole under the data dir and streams it back, leaving no temp file', async () => {
    await files.writeAtomically(files.exportFile(7, 'csv'), 'msisdn\n+919876543210\n');
    const stream = await files.openForReading(files.resolve('exports/7.csv'));
    expect(await text(stream!)).toBe('msisdn\n+919876543210\n');
    expect(await readdir(path.join(dataDir, 'exports'))).toEqual(['7.csv']);
  });

  it('answers null for a file that is gone, and refuses paths that leave the data dir', async () => {
    expect(await files.openForReading(files.resolve('thumbnails/missing.jpg'))).toBeNull();
    expect(() => files.resolve('../etc/passwd')).toThrow(/not under the data dir/);
    expect(() => files.resolve('/etc/passwd')).toThrow(/not under the data dir/);
    await expect(files.writeAtomically('../outside.txt', 'x')).rejects.toThrow(/not under the data dir/);
  });

  it('keeps photos content-addressed by hash and type', () => {
    const sha = Buffer.from('ab'.repeat(32), 'hex');
    expect(files.photoPath(sha, 'image/png')).toBe(path.join(dataDir, 'photos', 'ab', 'ab', `${'ab'.repeat(32)}.png`));
  });
});

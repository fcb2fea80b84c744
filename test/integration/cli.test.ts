import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/api-client.js';
import { EXIT } from '../../src/cli/cli-errors.js';
import { runExport } from '../../src/cli/export.js';
import { samplePhoto } from '../../src/demo/sample-portraits.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';
import { uploadPhotos } from '../helpers/upload.js';

/** Runs the simsift CLI through tsx in a child process; resolves with its exit code and output. */
function simsift(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('simsift CLI exit codes', () => {
  it('exits 3 naming the URL and the fix when Postgres is unreachable', async () => {
    const result = await simsift(['db', 'migrate'], { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/simsift' });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain('cannot reach Postgres at postgres://postgres:***@127.0.0.1:1/simsift');
    expect(result.stderr).toContain('start Postgres or set DATABASE_URL');
    expect(result.stderr).not.toContain('secret');
  }, 60_000);

  it('exits 3 when Redis is unreachable for a command that needs it', async () => {
    const result = await simsift(['worker', '--processes', '1'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain('start Redis or set REDIS_URL');
  }, 60_000);

  it('exits 3 when the API is unreachable, 2 on usage and configuration errors, 0 for --help', async () => {
    const unreachable = await simsift([
      'status',
      '00000000-0000-4000-8000-000000000000',
      '--url',
      'http://127.0.0.1:1',
      '--key',
      'k',
    ]);
    expect(unreachable.code).toBe(EXIT.unreachable);
    expect(unreachable.stderr).toContain('cannot reach the simsift API');

    expect((await simsift(['status'])).code).toBe(EXIT.usage);
    expect((await simsift(['no-such-command'])).code).toBe(EXIT.usage);
    expect((await simsift(['status', 'x', '--key', ''], { SIMSIFT_API_KEY: '' })).code).toBe(EXIT.usage);
    expect((await simsift(['db', 'migrate'], { PORT: 'eighty' })).code).toBe(EXIT.usage);
    const help = await simsift(['export', '--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('--operator <code>');
  }, 180_000);
});

describe('simsift status and export against a running API', () => {
  let env: TestEnv;
  let work: string;
  beforeAll(async () => {
    env = await createTestEnv();
    work = await mkdtemp(path.join(os.tmpdir(), 'simsift-cli-test-'));
  });
  afterAll(async () => {
    await env?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('status prints a batch by state; export downloads a checksummed block list', async () => {
    const operatorKey = await env.key('operator', 'CLITEST');
    const upload = await uploadPhotos(env.url, operatorKey, [await samplePhoto(1)]);
    const status = await simsift(['status', upload.batch_id, '--no-wait', '--url', env.url, '--key', operatorKey]);
    expect(status.code).toBe(EXIT.ok);
    expect(status.stdout).toContain(`batch ${upload.batch_id} (CLITEST, multipart)`);
    expect(status.stdout).toContain('1 accepted');

    const analyst = new ApiClient(env.url, await env.key('analyst'));
    const out = path.join(work, 'jio.json');
    const { file, export: created } = await runExport(analyst, { operator: 'clitest', format: 'json', out });
    expect(file).toBe(out);
    expect(created.operator).toBe('CLITEST');
    expect(JSON.parse(await readFile(out, 'utf8'))).toBeTruthy();

    const refused = await simsift(['export', '--operator', 'CLITEST', '--url', env.url, '--key', operatorKey]);
    expect(refused.code).toBe(EXIT.usage);
    expect(refused.stderr).toContain('HTTP 403');
  }, 180_000);
});

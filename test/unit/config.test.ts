import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it, expect } from 'vitest';
import { ConfigError, loadConfig, secretKeyId } from '../../src/config.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

const tempDirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'simsift-config-test-'));
  tempDirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configErrorFrom(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig: defaults', () => {
  it('uses local Postgres and Redis, port 8080 and ./data resolved to an absolute path', () => {
    const config = loadConfig({ SIMSIFT_SECRET: SECRET });
    expect(config.nodeEnv).toBe('development');
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/simsift');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.port).toBe(8080);
    expect(config.host).toBe('0.0.0.0');
    expect(config.queuePrefix).toBe('simsift');
    expect(config.logLevel).toBe('info');
    expect(path.isAbsolute(config.dataDir)).toBe(true);
    expect(config.dataDir).toBe(path.resolve(process.cwd(), 'data'));
    expect(config.upload).toEqual({
      maxUploadBytes: 1024 * 1024 * 1024,
      maxRowsPerBatch: 50_000,
      maxManifestBytes: 64 * 1024 * 1024,
      maxPhotoBytes: 10 * 1024 * 1024,
      maxPhotoPixels: 40_000_000,
    });
    expect(config.reconcileIntervalMs).toBe(10_000);
    expect(config.workerProcesses).toBe(os.availableParallelism());
  });

  it('treats empty values as unset', () => {
    const config = loadConfig({ SIMSIFT_SECRET: SECRET, PORT: '', REDIS_URL: '', LOG_LEVEL: '' });
    expect(config.port).toBe(8080);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.logLevel).toBe('info');
  });

  it('defaults the log level to silent under NODE_ENV=test', () => {
    expect(loadConfig({ NODE_ENV: 'test', SIMSIFT_SECRET: SECRET }).logLevel).toBe('silent');
  });

  it('reads valid overrides', () => {
    const dataDir = tempDir();
    const config = loadConfig({
      NODE_ENV: 'production',
      SIMSIFT_SECRET: SECRET,
      DATABASE_URL: 'postgresql://app:pw@db.internal:6543/kyc',
      REDIS_URL: 'rediss://cache.internal:6380',
      PORT: '3000',
      LOG_LEVEL: 'debug',
      SIMSIFT_DATA_DIR: dataDir,
      SIMSIFT_QUEUE_PREFIX: 'test_abc-1',
      SIMSIFT_MAX_ROWS_PER_BATCH: '10',
      SIMSIFT_WORKER_PROCESSES: '3',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      databaseUrl: 'postgresql://app:pw@db.internal:6543/kyc',
      redisUrl: 'rediss://cache.internal:6380',
      port: 3000,
      logLevel: 'debug',
      dataDir,
      queuePrefix: 'test_abc-1',
      workerProcesses: 3,
      secretGenerated: false,
    });
    expect(config.upload.maxRowsPerBatch).toBe(10);
    expect(config.secret.equals(Buffer.from(SECRET, 'utf8'))).toBe(true);
  });
});

describe('loadConfig: validation', () => {
  it('lists every bad key in one ConfigError', () => {
    const error = configErrorFrom(() =>
      loadConfig({ SIMSIFT_SECRET: SECRET, PORT: 'abc', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' }),
    );
    expect(error.name).toBe('ConfigError');
    expect(error.problems).toHaveLength(3);
    expect(error.problems.some((problem) => problem.startsWith('PORT ') && problem.includes('"abc"'))).toBe(true);
    expect(error.problems.some((problem) => problem.startsWith('REDIS_URL '))).toBe(true);
    expect(error.problems.some((problem) => problem.startsWith('LOG_LEVEL ') && problem.includes('"loud"'))).toBe(true);
    for (const key of ['PORT', 'REDIS_URL', 'LOG_LEVEL']) expect(error.message).toContain(key);
  });

  it('rejects out-of-range and fractional integers, wrong URL schemes, bad NODE_ENV and queue prefixes', () => {
    const error = configErrorFrom(() =>
      loadConfig({
        SIMSIFT_SECRET: SECRET,
        NODE_ENV: 'staging',
        PORT: '65536',
        SIMSIFT_MAX_ROWS_PER_BATCH: '1.5',
        DATABASE_URL: 'mysql://db/simsift',
        SIMSIFT_QUEUE_PREFIX: 'has space',
      }),
    );
    expect(error.problems.map((problem) => problem.split(' ')[0]).sort()).toEqual([
      'DATABASE_URL',
      'NODE_ENV',
      'PORT',
      'SIMSIFT_MAX_ROWS_PER_BATCH',
      'SIMSIFT_QUEUE_PREFIX',
    ]);
  });

  // Number('  ') is 0: a whitespace-only PORT must be reported, not turned into a random ephemeral port.
  it('rejects a whitespace-only, hex or exponent PORT instead of reading it as a number', () => {
    for (const port of ['  ', '0x1F90', '8e3']) {
      const error = configErrorFrom(() => loadConfig({ SIMSIFT_SECRET: SECRET, PORT: port }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^PORT /);
    }
  });

  it('rejects a URL that does not parse', () => {
    const error = configErrorFrom(() => loadConfig({ SIMSIFT_SECRET: SECRET, DATABASE_URL: 'not a url' }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^DATABASE_URL /);
  });

  it('requires SIMSIFT_SECRET or SIMSIFT_SECRET_FILE unless NODE_ENV=development is set explicitly', () => {
    for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'test' }, {}]) {
      const dataDir = tempDir();
      const error = configErrorFrom(() => loadConfig({ ...env, SIMSIFT_DATA_DIR: dataDir }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^SIMSIFT_SECRET or SIMSIFT_SECRET_FILE is required/);
      // Never a silently generated key: documents hashed with it would not match after it is lost.
      expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
    }
  });

  it('reads the secret from SIMSIFT_SECRET_FILE, trimmed, and refuses a short, missing or doubled one', () => {
    const dir = tempDir();
    const file = path.join(dir, 'hmac.key');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const config = loadConfig({ NODE_ENV: 'production', SIMSIFT_SECRET_FILE: file });
    expect(config.secret.toString('utf8')).toBe(SECRET);
    expect(config.secretKeyId).toBe(secretKeyId(Buffer.from(SECRET, 'utf8')));
    expect(config.secretKeyId).toMatch(/^[0-9a-f]{8}$/);
    expect(config.secretKeyId).not.toBe(secretKeyId(Buffer.from(`${SECRET}x`, 'utf8')));
    writeFileSync(path.join(dir, 'short.key'), 'x'.repeat(31));
    expect(configErrorFrom(() => loadConfig({ SIMSIFT_SECRET_FILE: path.join(dir, 'short.key') })).problems[0]).toMatch(
      /holds no usable secret/,
    );
    expect(configErrorFrom(() => loadConfig({ SIMSIFT_SECRET_FILE: path.join(dir, 'none.key') })).problems[0]).toMatch(
      /SIMSIFT_SECRET_FILE .* does not exist/,
    );
    expect(
      configErrorFrom(() => loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_SECRET_FILE: file })).problems[0],
    ).toMatch(/not both/);
  });

  it('generates one for `required` too when NODE_ENV=development is set explicitly', () => {
    const dataDir = tempDir();
    expect(
      loadConfig({ NODE_ENV: 'development', SIMSIFT_DATA_DIR: dataDir }, { secret: 'required' }).secretGenerated,
    ).toBe(true);
  });

  it('uses a random key in memory for commands that hash no document, and writes none', () => {
    const dataDir = tempDir();
    const a = loadConfig({ SIMSIFT_DATA_DIR: dataDir }, { secret: 'ephemeral' });
    const b = loadConfig({ SIMSIFT_DATA_DIR: dataDir }, { secret: 'ephemeral' });
    expect(a.secret.equals(b.secret)).toBe(false);
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
  });

  it('rejects a secret shorter than 32 characters', () => {
    const error = configErrorFrom(() => loadConfig({ NODE_ENV: 'production', SIMSIFT_SECRET: 'x'.repeat(31) }));
    expect(error.problems).toEqual(['SIMSIFT_SECRET must be at least 32 characters']);
    expect(loadConfig({ NODE_ENV: 'production', SIMSIFT_SECRET: 'x'.repeat(32) }).secret).toHaveLength(32);
  });

  it('lists a missing production secret together with other problems', () => {
    const error = configErrorFrom(() => loadConfig({ NODE_ENV: 'production', PORT: '-1' }));
    expect(error.problems.map((problem) => problem.split(' ')[0]).sort()).toEqual(['PORT', 'SIMSIFT_SECRET']);
  });

  it('does not generate a development secret when the configuration is invalid', () => {
    const dataDir = tempDir();
    configErrorFrom(() => loadConfig({ NODE_ENV: 'development', SIMSIFT_DATA_DIR: dataDir, PORT: 'abc' }));
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
  });
});

describe('loadConfig: behind a proxy', () => {
  it('trusts no proxy by default, and reads true, a hop count or addresses and CIDR ranges', () => {
    expect(loadConfig({ SIMSIFT_SECRET: SECRET }).trustProxy).toBe(false);
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(
      loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_TRUST_PROXY: '10.0.0.0/8, 192.168.1.7,::1' }).trustProxy,
    ).toEqual(['10.0.0.0/8', '192.168.1.7', '::1']);
  });

  it('rejects anything else with the accepted forms', () => {
    for (const value of ['yes', 'loadbalancer.internal', '10.0.0.0/8;rm', '-1']) {
      expect(() => loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_TRUST_PROXY: value })).toThrow(
        /SIMSIFT_TRUST_PROXY must be false, true, a hop count, or comma-separated addresses/,
      );
    }
  });

  it('keeps /metrics and /docs off in production unless asked, and on elsewhere', () => {
    const production = loadConfig({ SIMSIFT_SECRET: SECRET, NODE_ENV: 'production' });
    expect([production.exposeMetrics, production.exposeDocs]).toEqual([false, false]);
    const asked = loadConfig({
      SIMSIFT_SECRET: SECRET,
      NODE_ENV: 'production',
      SIMSIFT_EXPOSE_METRICS: 'true',
      SIMSIFT_EXPOSE_DOCS: 'true',
    });
    expect([asked.exposeMetrics, asked.exposeDocs]).toEqual([true, true]);
    const development = loadConfig({ SIMSIFT_SECRET: SECRET });
    expect([development.exposeMetrics, development.exposeDocs]).toEqual([true, true]);
  });

  it('makes the queue dashboard read-only unless set to write or off, and rejects other values', () => {
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, NODE_ENV: 'production' }).queueDashboard).toBe('read-only');
    for (const mode of ['write', 'off', 'read-only'] as const) {
      expect(loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_QUEUE_DASHBOARD: mode }).queueDashboard).toBe(mode);
    }
    expect(() => loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_QUEUE_DASHBOARD: 'true' })).toThrow(
      /SIMSIFT_QUEUE_DASHBOARD must be one of off, read-only, write \(got "true"\)/,
    );
  });

  it('serves no worker metrics unless a port is set, and then on loopback unless another host is', () => {
    expect(loadConfig({ SIMSIFT_SECRET: SECRET }).workerMetrics).toEqual({ port: 0, host: '127.0.0.1' });
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_WORKER_METRICS_PORT: '9400' }).workerMetrics).toEqual({
      port: 9400,
      host: '127.0.0.1',
    });
    expect(
      loadConfig({
        SIMSIFT_SECRET: SECRET,
        SIMSIFT_WORKER_METRICS_PORT: '9400',
        SIMSIFT_WORKER_METRICS_HOST: '0.0.0.0',
      }).workerMetrics.host,
    ).toBe('0.0.0.0');
    for (const value of ['-1', '65536', 'abc']) {
      expect(() => loadConfig({ SIMSIFT_SECRET: SECRET, SIMSIFT_WORKER_METRICS_PORT: value })).toThrow(
        /SIMSIFT_WORKER_METRICS_PORT must be an integer from 0 to 65535/,
      );
    }
  });

  it('makes the session cookie Secure everywhere but development and test', () => {
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, NODE_ENV: 'production' }).secureCookies).toBe(true);
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, NODE_ENV: 'development' }).secureCookies).toBe(false);
    expect(loadConfig({ SIMSIFT_SECRET: SECRET, NODE_ENV: 'test' }).secureCookies).toBe(false);
  });
});

describe('loadConfig: development secret', () => {
  it('generates a 0600 secret file the first time and reads the same secret afterwards', () => {
    const dataDir = path.join(tempDir(), 'nested', 'data');
    const env = { NODE_ENV: 'development', SIMSIFT_DATA_DIR: dataDir };

    const first = loadConfig(env);
    expect(first.secretGenerated).toBe(true);
    expect(first.dataDir).toBe(dataDir);
    const file = path.join(dataDir, 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secret.toString('utf8'));
    expect(first.secret.length).toBeGreaterThanOrEqual(32);

    const second = loadConfig(env);
    expect(second.secretGenerated).toBe(false);
    expect(second.secret.equals(first.secret)).toBe(true);
  });

  it('generates a different secret in another data dir', () => {
    const a = loadConfig({ NODE_ENV: 'development', SIMSIFT_DATA_DIR: tempDir() });
    const b = loadConfig({ SIMSIFT_DATA_DIR: tempDir() }, { secret: 'generated' });
    expect(a.secret.equals(b.secret)).toBe(false);
  });

  it('prefers SIMSIFT_SECRET over a secret file and writes none', () => {
    const dataDir = tempDir();
    const config = loadConfig({ SIMSIFT_DATA_DIR: dataDir, SIMSIFT_SECRET: SECRET });
    expect(config.secretGenerated).toBe(false);
    expect(config.secret.toString('utf8')).toBe(SECRET);
    expect(existsSync(path.join(dataDir, 'secret.key'))).toBe(false);
  });

  // An empty secret.key (a crash mid-write in an older version, or a hand-made file) must never become an
  // empty HMAC key: document hashes made with it would silently never match.
  it('refuses an empty secret file instead of using an empty HMAC key', () => {
    const dataDir = tempDir();
    writeFileSync(path.join(dataDir, 'secret.key'), '', { mode: 0o600 });
    const error = configErrorFrom(() => loadConfig({ NODE_ENV: 'development', SIMSIFT_DATA_DIR: dataDir }));
    expect(error.problems[0]).toMatch(/secret\.key holds no usable secret/);
  });
});

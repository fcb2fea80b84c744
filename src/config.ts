/*
 * Over 400 lines on purpose: this is the one validated config module (STYLE.md), every setting with its
 * parsing, bounds and why; splitting it would scatter the settings a reader looks for in one place.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FaceThresholds } from './services/face-pipeline.service.js';
import { isMissingFile } from './file-exists.js';

/** Limits that protect the API from oversized or hostile uploads. All are configurable. */
export interface UploadLimits {
  /** Whole request body (multipart or zip), bytes. */
  maxUploadBytes: number;
  /** Data rows in one manifest. */
  maxRowsPerBatch: number;
  /** Manifest CSV size, bytes. */
  maxManifestBytes: number;
  /** One photo, bytes. */
  maxPhotoBytes: number;
  /** One photo, width x height as declared in its header (decompression-bomb guard). */
  maxPhotoPixels: number;
}

/** The face pipeline. Quality-gate defaults were measured on real photos: see README "Face pipeline thresholds". */
export interface FaceConfig extends FaceThresholds {
  /** face_recognition, faceres, or the name of an ONNX embedder declared in models/manifest.json. */
  embedder: string;
  /** Refuse the pure-JS CPU backend (about 40x slower) unless this is set. */
  allowCpuBackend: boolean;
  /** How long a worker's job lock lasts; a killed worker's job is handed on after about this long. */
  jobLockMs: number;
}

/** The clustering rule (see FaceClusterer). Thresholds scale the embedder's calibrated same-person threshold. */
export interface ClusteringConfig {
  /** Average-linkage threshold as a share of the pair threshold. */
  averageThresholdFactor: number;
  /** Share of a cluster's members a joining face must be close to. */
  minSupport: number;
  neighbours: number;
  /**
   * Candidates the ANN index keeps while searching (usearch's expansion_search): recall against the query time,
   * to be widened as the gallery grows (measured per gallery size in the README's performance table).
   */
  searchBreadth: number;
}

export const QUEUE_DASHBOARD_MODES = ['off', 'read-only', 'write'] as const;
export type QueueDashboardMode = (typeof QUEUE_DASHBOARD_MODES)[number];

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  databaseUrl: string;
  /**
   * The schema owner's connection, for migrations only (DATABASE_OWNER_URL; DATABASE_URL when unset). When the
   * two name different users, the app's user is granted reads and writes on the tables and nothing more: it
   * cannot alter tables or triggers, truncate, or update or delete audit rows.
   */
  databaseOwnerUrl: string;
  redisUrl: string;
  /** Prefix for every BullMQ key; tests use their own so they never see each other's jobs. */
  queuePrefix: string;
  host: string;
  port: number;
  dataDir: string;
  /** HMAC key for identity documents. Never logged. */
  secret: Buffer;
  /**
   * Names the secret without revealing it (8 hex characters of a hash of it), stored with every document HMAC: a
   * changed secret shows as records under another key id, whose documents can no longer match new ones.
   */
  secretKeyId: string;
  /** True when the secret was generated into the data dir (explicit development mode, or the demo). */
  secretGenerated: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  upload: UploadLimits;
  /** How often the reconciler looks for accepted records that never reached the queue. */
  reconcileIntervalMs: number;
  /** Backpressure: above this many waiting face jobs, uploads are refused with 429 `queue_full`. */
  maxQueuedRecords: number;
  /** A record queued this long without a live face job is queued again under a new job id (the watchdog). */
  queueWatchdogMs: number;
  /** How often the cluster worker looks for pending faces and constraints whose jobs were lost. */
  clusterSweepMs: number;
  /** Photo and scratch files of uploads that never committed are deleted once they are this old. */
  orphanPhotoGraceMs: number;
  /** API processes cache API keys and batch status, dropped on Postgres change notifications (migration 0012). */
  readCache: boolean;
  /** Failed authentications (unknown or revoked keys) one client IP may make per minute before 429. */
  maxAuthFailuresPerMinute: number;
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (Fastify's `trustProxy`): false (none, the
   * default), a hop count, or addresses and CIDR ranges. Behind a load balancer without it, every client shares
   * the balancer's address, and one client's bad keys would count against all.
   */
  trustProxy: boolean | number | string[];
  /**
   * The review UI's session cookie is `Secure` and `__Host-` prefixed unless NODE_ENV is development or test
   * (served over plain HTTP there): TLS usually ends at a proxy, so the request's own protocol is no guide.
   */
  secureCookies: boolean;
  /**
   * Whether GET /metrics and the interactive API docs (/docs) answer on the API port. Both describe the service
   * to anyone who can reach it, so they are off unless NODE_ENV is development or test, or these are set.
   */
  exposeMetrics: boolean;
  exposeDocs: boolean;
  /**
   * The admin queue dashboard at /admin/queues (bull-board): `read-only` (the default) shows the faces and cluster
   * queues and their jobs; `write` also lets an admin retry, promote and remove jobs there; `off` mounts nothing.
   */
  queueDashboard: QueueDashboardMode;
  /**
   * Each worker process's own Prometheus endpoint (GET /metrics on a port of its own): off when the port is 0.
   * `simsift worker` serves its own process (the cluster worker) on `port` and face worker slot n on `port + 1 + n`.
   * Loopback by default, for the same reason as `exposeMetrics`.
   */
  workerMetrics: { port: number; host: string };
  /**
   * A connection that sends nothing for this long is closed (Fastify's connectionTimeout), and no request may
   * take longer than `requestTimeoutMs` in all: a client trickling bytes cannot hold sockets and upload slots.
   */
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  /** `simsift worker` touches this file every 10 s while its face workers live (a container healthcheck). */
  heartbeatFile: string | null;
  /** Records of subscribers analysts cleared are erased this many days after the decision; 0 keeps them. */
  clearedRetentionDays: number;
  /** Original photos are deleted this many days after upload, faces and thumbnails kept; 0 keeps them. */
  photoRetentionDays: number;
  workerProcesses: number;
  faces: FaceConfig;
  clustering: ClusteringConfig;
  checks: { timeoutMs: number; preloadModels: boolean; perKeyPerMinute: number };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NODE_ENVS = ['development', 'production', 'test'] as const;
const MIB = 1024 * 1024;

/**
 * Parses and validates the environment once. Every bad key is reported together so an operator fixes them
 * in one go, not one restart per key. The only module that reads `process.env`.
 */
export interface LoadConfigOptions {
  /**
   * Where the HMAC secret may come from when neither SIMSIFT_SECRET nor SIMSIFT_SECRET_FILE is set: `required`
   * (an error, unless NODE_ENV=development is set explicitly, which generates one into the data dir),
   * `generated` (the demo: always generated into the data dir), or `ephemeral` (commands that hash no document:
   * a random key in memory).
   */
  secret?: 'required' | 'generated' | 'ephemeral';
}

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const str = (key: string, fallback: string): string => {
    const value = env[key];
    return value === undefined || value === '' ? fallback : value;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const value = str(key, fallback);
    if ((allowed as readonly string[]).includes(value)) return value as T;
    problems.push(`${key} must be one of ${allowed.join(', ')} (got "${value}")`);
    return fallback;
  };
  // The built-in embedders, or an ONNX model's name in models/manifest.json (checked when the models load).
  const embedderName = (key: string, fallback: string): string => {
    const value = str(key, fallback);
    if (/^[a-z][a-z0-9_.-]{0,63}$/.test(value)) return value;
    problems.push(
      `${key} must be face_recognition, faceres or an embedder named in models/manifest.json (got "${value}")`,
    );
    return fallback;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = str(key, String(fallback));
    // Plain decimal digits only: Number() would read '  ' as 0 and '0x1F90' as 8080.
    const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const raw = str(key, String(fallback));
    const value = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= min && value <= max)) {
      problems.push(`${key} must be a number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return value;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const raw = str(key, String(fallback)).toLowerCase();
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${key} must be true or false (got "${raw}")`);
    return fallback;
  };
  const url = (key: string, fallback: string, protocols: string[]): string => {
    const value = str(key, fallback);
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
    } catch {
      problems.push(`${key} must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);
    }
    return value;
  };

  const nodeEnv = oneOf('NODE_ENV', NODE_ENVS, 'development');
  const trustProxy = (): boolean | number | string[] => {
    const raw = str('SIMSIFT_TRUST_PROXY', 'false').trim();
    if (raw === 'false') return false;
    if (raw === 'true') return true;
    if (/^\d{1,2}$/.test(raw)) return Number(raw);
    const entries = raw.split(',').map((entry) => entry.trim());
    // IPv4 or IPv6 addresses, with an optional /prefix; proxy-addr checks them further when the app starts.
    if (entries.every((entry) => /^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(entry) && /[.:]/.test(entry))) return entries;
    problems.push(
      `SIMSIFT_TRUST_PROXY must be false, true, a hop count, or comma-separated addresses or CIDR ranges (got "${raw}")`,
    );
    return false;
  };
  const dataDir = path.resolve(str('SIMSIFT_DATA_DIR', './data'));
  const databaseUrl = url('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/simsift', ['postgres:', 'postgresql:']);
  const config: Omit<Config, 'secret' | 'secretKeyId' | 'secretGenerated'> = {
    nodeEnv,
    databaseUrl,
    // Unset, the app's own connection migrates (its URL is validated once, above).
    databaseOwnerUrl: env.DATABASE_OWNER_URL
      ? url('DATABASE_OWNER_URL', '', ['postgres:', 'postgresql:'])
      : databaseUrl,
    redisUrl: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    queuePrefix: str('SIMSIFT_QUEUE_PREFIX', 'simsift'),
    host: str('HOST', '0.0.0.0'),
    port: int('PORT', 8080, 0, 65535),
    dataDir,
    logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, nodeEnv === 'test' ? 'silent' : 'info'),
    upload: {
      maxUploadBytes: int('SIMSIFT_MAX_UPLOAD_BYTES', 1024 * MIB, 1024, Number.MAX_SAFE_INTEGER),
      maxRowsPerBatch: int('SIMSIFT_MAX_ROWS_PER_BATCH', 50_000, 1, 10_000_000),
      maxManifestBytes: int('SIMSIFT_MAX_MANIFEST_BYTES', 64 * MIB, 1024, 2 * 1024 * MIB),
      maxPhotoBytes: int('SIMSIFT_MAX_PHOTO_BYTES', 10 * MIB, 1024, 1024 * MIB),
      maxPhotoPixels: int('SIMSIFT_MAX_PHOTO_PIXELS', 40_000_000, 1, 1_000_000_000),
    },
    reconcileIntervalMs: int('SIMSIFT_RECONCILE_INTERVAL_MS', 10_000, 100, 3_600_000),
    trustProxy: trustProxy(),
    secureCookies: nodeEnv !== 'development' && nodeEnv !== 'test',
    exposeMetrics: bool('SIMSIFT_EXPOSE_METRICS', nodeEnv !== 'production'),
    exposeDocs: bool('SIMSIFT_EXPOSE_DOCS', nodeEnv !== 'production'),
    // On everywhere (it answers admins only), but read-only unless an operator chooses to act on jobs from it.
    queueDashboard: oneOf('SIMSIFT_QUEUE_DASHBOARD', QUEUE_DASHBOARD_MODES, 'read-only'),
    // Off unless set: a fixed default port would make every worker on a host (and every test run) listen on it.
    workerMetrics: {
      port: int('SIMSIFT_WORKER_METRICS_PORT', 0, 0, 65535),
      host: str('SIMSIFT_WORKER_METRICS_HOST', '127.0.0.1'),
    },
    clearedRetentionDays: int('SIMSIFT_CLEARED_RETENTION_DAYS', 0, 0, 36_500),
    photoRetentionDays: int('SIMSIFT_PHOTO_RETENTION_DAYS', 0, 0, 36_500),
    idleTimeoutMs: int('SIMSIFT_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    // 1 GiB (the upload limit) at about 10 Mbit/s.
    requestTimeoutMs: int('SIMSIFT_REQUEST_TIMEOUT_MS', 15 * 60_000, 1_000, 24 * 3_600_000),
    heartbeatFile: env.SIMSIFT_HEARTBEAT_FILE ? path.resolve(env.SIMSIFT_HEARTBEAT_FILE) : null,
    maxQueuedRecords: int('SIMSIFT_MAX_QUEUED_RECORDS', 1_000_000, 1, Number.MAX_SAFE_INTEGER),
    queueWatchdogMs: int('SIMSIFT_QUEUE_WATCHDOG_MS', 15 * 60_000, 1_000, 7 * 24 * 3_600_000),
    clusterSweepMs: int('SIMSIFT_CLUSTER_SWEEP_MS', 60_000, 1_000, 3_600_000),
    // Longer than any upload takes to stream: a photo is stored before its batch commits.
    orphanPhotoGraceMs: int('SIMSIFT_ORPHAN_PHOTO_GRACE_MINUTES', 24 * 60, 1, 525_600) * 60_000,
    readCache: bool('SIMSIFT_READ_CACHE', true),
    maxAuthFailuresPerMinute: int('SIMSIFT_AUTH_MAX_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
    workerProcesses: int('SIMSIFT_WORKER_PROCESSES', os.availableParallelism(), 1, 256),
    faces: {
      embedder: embedderName('SIMSIFT_EMBEDDER', 'face_recognition'),
      allowCpuBackend: bool('SIMSIFT_ALLOW_CPU_BACKEND', false),
      detectionMaxSide: int('SIMSIFT_DETECTION_MAX_SIDE', 800, 128, 4096),
      minDetectionScore: num('SIMSIFT_MIN_DETECTION_SCORE', 0.5, 0, 1),
      fallbackMinDetectionScore: num('SIMSIFT_FALLBACK_MIN_DETECTION_SCORE', 0.3, 0, 1),
      minFacePx: int('SIMSIFT_MIN_FACE_PX', 40, 1, 4096),
      multiFaceAreaRatio: num('SIMSIFT_MULTI_FACE_AREA_RATIO', 0.5, 0, 1),
      multiFaceMinScore: num('SIMSIFT_MULTI_FACE_MIN_SCORE', 0.6, 0, 1),
      minBlur: num('SIMSIFT_MIN_BLUR', 10, 0, 100_000),
      maxAbsYaw: num('SIMSIFT_MAX_ABS_YAW', 50, 0, 90),
      jobLockMs: int('SIMSIFT_JOB_LOCK_MS', 30_000, 1_000, 3_600_000),
    },
    clustering: {
      averageThresholdFactor: num('SIMSIFT_CLUSTER_AVERAGE_FACTOR', 0.9, 0.1, 2),
      minSupport: num('SIMSIFT_CLUSTER_MIN_SUPPORT', 0.5, 0, 1),
      neighbours: int('SIMSIFT_CLUSTER_NEIGHBOURS', 32, 1, 1000),
      // 128: the index's default (DEFAULT_INDEX_OPTIONS), chosen at 100k faces.
      searchBreadth: int('SIMSIFT_CLUSTER_SEARCH_BREADTH', 128, 16, 4096),
    },
    checks: {
      // How long POST /v1/checks waits for the cluster worker's answer before a 503.
      timeoutMs: int('SIMSIFT_CHECK_TIMEOUT_MS', 10_000, 100, 120_000),
      // Loading the face models takes ~5 s (measured: 3.9 s create + 1.5 s warm-up, +300 MB RSS): the cluster
      // worker loads them at start so the first check answers in time; off, they load on the first check.
      preloadModels: bool('SIMSIFT_CHECK_PRELOAD_MODELS', true),
      // Each check answers whether an identity is enrolled anywhere: a key that asks faster is mining, not selling.
      perKeyPerMinute: int('SIMSIFT_CHECKS_PER_KEY_PER_MINUTE', 120, 1, 1_000_000),
    },
  };
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.queuePrefix)) {
    problems.push('SIMSIFT_QUEUE_PREFIX must be 1-64 letters, digits, "_" or "-"');
  }

  let secret: Buffer | undefined;
  let secretGenerated = false;
  const rawSecret = env.SIMSIFT_SECRET;
  const secretFile = env.SIMSIFT_SECRET_FILE;
  const wanted = options.secret ?? 'required';
  const secretSource = wanted === 'required' && env.NODE_ENV === 'development' ? 'generated' : wanted;
  if (rawSecret !== undefined && rawSecret !== '') {
    if (secretFile) problems.push('set SIMSIFT_SECRET or SIMSIFT_SECRET_FILE, not both');
    if (rawSecret.length < 32) problems.push('SIMSIFT_SECRET must be at least 32 characters');
    secret = Buffer.from(rawSecret, 'utf8');
  } else if (secretFile !== undefined && secretFile !== '') {
    try {
      secret = readSecretFile(path.resolve(secretFile)) ?? undefined;
      if (!secret) problems.push(`SIMSIFT_SECRET_FILE ${secretFile} does not exist`);
    } catch (error) {
      problems.push(
        error instanceof ConfigError
          ? error.problems.join('; ')
          : `SIMSIFT_SECRET_FILE ${secretFile} cannot be read: ${(error as Error).message}`,
      );
    }
  } else if (secretSource === 'required') {
    problems.push(
      'SIMSIFT_SECRET or SIMSIFT_SECRET_FILE is required (the HMAC key for identity documents, 32 or more ' +
        'characters); for local use only, NODE_ENV=development generates one into the data directory',
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  if (!secret && secretSource === 'ephemeral') secret = Buffer.from(randomBytes(32).toString('base64url'), 'utf8');
  if (!secret) {
    ({ secret, generated: secretGenerated } = developmentSecret(dataDir));
  }
  return { ...config, secret, secretKeyId: secretKeyId(secret), secretGenerated };
}

/** 8 hex characters that name a secret: a keyed hash, so they reveal nothing usable about it. */
export function secretKeyId(secret: Buffer): string {
  return createHmac('sha256', secret).update('simsift secret key id').digest('hex').slice(0, 8);
}

/**
 * The environment under which a child process (a forked worker) loads the same stores, queues and secret as
 * `config`, for parents that changed them from their own environment (demo, tests).
 */
export function childProcessEnv(config: Config, base: Env = process.env): Env {
  return {
    ...base,
    DATABASE_URL: config.databaseUrl,
    DATABASE_OWNER_URL: config.databaseOwnerUrl,
    REDIS_URL: config.redisUrl,
    SIMSIFT_DATA_DIR: config.dataDir,
    SIMSIFT_QUEUE_PREFIX: config.queuePrefix,
    SIMSIFT_SECRET: config.secret.toString('utf8'),
    SIMSIFT_JOB_LOCK_MS: String(config.faces.jobLockMs),
    SIMSIFT_CHECK_PRELOAD_MODELS: String(config.checks.preloadModels),
  };
}

/**
 * Development convenience: a random key kept in the data dir so restarts hash documents the same way.
 * Losing it makes earlier document hashes unmatchable, which is why production must set its own.
 */
function developmentSecret(dataDir: string): { secret: Buffer; generated: boolean } {
  const file = path.join(dataDir, 'secret.key');
  const existing = readSecretFile(file);
  if (existing) return { secret: existing, generated: false };
  mkdirSync(dataDir, { recursive: true });
  const value = randomBytes(32).toString('base64url');
  // Written whole to a private temp file, then linked into place: link() fails if the name exists, so two
  // processes starting together agree on one secret, and no reader ever sees a half-written file.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, value + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, file);
    return { secret: Buffer.from(value, 'utf8'), generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = readSecretFile(file);
    if (!winner) throw new ConfigError([`${file} exists but holds no secret; remove it or set SIMSIFT_SECRET`]);
    return { secret: winner, generated: false };
  } finally {
    unlinkSync(temp);
  }
}

/** The secret in `file`, or null when there is no file. An empty file is an error, never an empty HMAC key. */
function readSecretFile(file: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (error) {
    if (isMissingFile(error)) return null;
    throw error;
  }
  if (text.length < 32) {
    throw new ConfigError([`${file} holds no usable secret (under 32 characters); remove it or set SIMSIFT_SECRET`]);
  }
  return Buffer.from(text, 'utf8');
}

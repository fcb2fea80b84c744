/**
 * Stopping and starting the machine's real Postgres and Redis for the fault tests, and running simsift
 * processes as children. The start commands are CI's own (.ci/run), so a restored service is the one CI made.
 * Every stop must be paired with a start in a `finally`: other test runs share these services.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/paths.js';

const exec = promisify(execFile);

const REDIS_START = [
  '--daemonize',
  'yes',
  '--bind',
  '127.0.0.1',
  '-::1',
  '--port',
  '6379',
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  '/var/lib/redis',
  '--logfile',
  '/var/log/redis/ci.log',
];

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const succeeds = (command: string, args: string[]) =>
  exec(command, args, { timeout: 5_000 }).then(
    () => true,
    () => false,
  );

export const redisUp = () => succeeds('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'ping']);
export const postgresUp = () => succeeds('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']);

/** `redis-cli shutdown nosave`: Redis stops and, without persistence, forgets every job. */
export async function stopRedis(): Promise<void> {
  await exec('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']).catch(() => undefined);
  await until(async () => !(await redisUp()), 10_000, 'Redis to stop');
}

/** Starts Redis exactly as CI does, unless it is already up. */
export async function startRedis(): Promise<void> {
  if (await redisUp()) return;
  await mkdir('/var/lib/redis', { recursive: true });
  await mkdir('/var/log/redis', { recursive: true });
  await exec('redis-server', REDIS_START);
  await until(redisUp, 30_000, 'Redis to start');
}

async function postgresVersion(): Promise<string> {
  const versions = await readdir('/etc/postgresql');
  if (versions.length !== 1)
    throw new Error(`expected one Postgres version in /etc/postgresql, found ${versions.join(', ')}`);
  return versions[0]!;
}

export async function stopPostgres(): Promise<void> {
  await exec('pg_ctlcluster', ['--skip-systemctl-redirect', await postgresVersion(), 'main', 'stop', '-m', 'fast']);
  await until(async () => !(await postgresUp()), 20_000, 'Postgres to stop');
}

/** Starts Postgres exactly as CI does, unless it is already up. */
export async function startPostgres(): Promise<void> {
  if (await postgresUp()) return;
  await exec('pg_ctlcluster', ['--skip-systemctl-redirect', await postgresVersion(), 'main', 'start']);
  await until(postgresUp, 30_000, 'Postgres to start');
}

export interface ChildServer {
  url: string;
  child: ChildProcess;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then waits for the exit. */
  stop(): Promise<void>;
}

/** `kill` (SIGKILL, as a crash) and `stop` (SIGTERM, a graceful shutdown), each resolving once the child is gone. */
function stoppable(child: ChildProcess): { kill(): Promise<void>; stop(): Promise<void> } {
  const signal = async (name: NodeJS.Signals) => {
    child.kill(name);
    await exited(child);
  };
  return { kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** `simsift serve` in a child process (through tsx, as `npm run simsift` does) on a free loopback port. */
export async function spawnServe(env: NodeJS.ProcessEnv): Promise<ChildServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), 'serve'],
    {
      cwd: PROJECT_ROOT,
      env: { ...env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error('simsift serve did not start within 60 s')), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /"url":"(http:\/\/[^"]+)"/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
      if (buffered.length > 100_000) buffered = buffered.slice(-10_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simsift serve exited with ${code} before listening`));
    });
  });
  // Keep draining its log so a full pipe never blocks it.
  child.stdout.resume();
  return {
    url,
    child,
    ...stoppable(child),
  };
}

export interface ChildWorker {
  pid: number;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** The cluster worker alone in a child process (workers/cluster-worker.ts); resolves once it is ready. */
export async function spawnClusterWorker(env: NodeJS.ProcessEnv): Promise<ChildWorker> {
  const child = fork(path.join(PROJECT_ROOT, 'workers', 'cluster-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`cluster worker exited with ${code} before it was ready`)));
  });
  return {
    pid: child.pid!,
    ...stoppable(child),
  };
}
